/* Laser OS — small behaviours on top of htmx. Pages work without this file. */
(function () {
  "use strict";

  // Drag-and-drop queue ordering (SortableJS). forceFallback makes touch and synthetic
  // mouse drags (Playwright) behave the same as a desktop drag.
  function initSortables(root) {
    if (typeof Sortable === "undefined") return;
    root.querySelectorAll(".sortable").forEach(function (el) {
      if (el._sortable) return;
      el._sortable = new Sortable(el, {
        animation: 150,
        handle: ".drag-handle",
        forceFallback: true,
        fallbackTolerance: 3,
        ghostClass: "sortable-ghost",
        chosenClass: "sortable-chosen",
        onEnd: function () { this.option("disabled", true); },
      });
      el.addEventListener("htmx:afterRequest", function (evt) {
        // A saved move answers 204: the rows are already where the user dropped them.
        if (evt.detail.elt === el && evt.detail.xhr.status === 204) renumber(el);
        if (el._sortable && el.isConnected) el._sortable.option("disabled", false);
      });
    });
  }

  function renumber(tbody) {
    var first = parseInt(tbody.dataset.firstIndex || "1", 10);
    tbody.querySelectorAll(":scope > tr > .queue-pos").forEach(function (cell, index) {
      cell.textContent = String(first + index);
    });
  }

  // Collapsible sidebar, remembered per browser.
  function initSidebar() {
    var toggle = document.querySelector(".sidebar-toggle");
    if (!toggle || toggle._bound) return;
    toggle._bound = true;
    var apply = function (collapsed) {
      document.body.classList.toggle("sidebar-collapsed", collapsed);
      toggle.setAttribute("aria-expanded", collapsed ? "false" : "true");
    };
    apply(localStorage.getItem("laseros.sidebar") === "collapsed");
    toggle.addEventListener("click", function () {
      var collapsed = !document.body.classList.contains("sidebar-collapsed");
      localStorage.setItem("laseros.sidebar", collapsed ? "collapsed" : "open");
      apply(collapsed);
    });
  }

  // Run timers count from the run's start time as the server recorded it. The offset between
  // the server's clock and this phone's is measured once per page, so the timer is right after
  // a reload and keeps counting with no network at all.
  function initTimers(root) {
    root.querySelectorAll(".run-timer[data-started]").forEach(function (el) {
      if (el._timer) return;
      var started = Date.parse(el.dataset.started);
      var offset = el.dataset.serverNow ? Date.parse(el.dataset.serverNow) - Date.now() : 0;
      if (isNaN(started)) return;
      var tick = function () {
        if (!el.isConnected) { clearInterval(el._timer); return; }
        var seconds = Math.max(0, Math.floor((Date.now() + offset - started) / 1000));
        var h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
        el.textContent = h + ":" + (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
      };
      tick();
      el._timer = setInterval(tick, 1000);
    });
  }

  // − / + buttons beside a number input (the input still works on its own).
  function initSteppers(root) {
    root.querySelectorAll("[data-stepper]").forEach(function (box) {
      if (box._bound) return;
      box._bound = true;
      var input = box.querySelector("input");
      box.querySelectorAll("[data-step]").forEach(function (button) {
        button.addEventListener("click", function () {
          var value = parseInt(input.value || "0", 10);
          if (isNaN(value)) value = 0;
          input.value = String(Math.max(0, value + parseInt(button.dataset.step, 10)));
          input.dispatchEvent(new Event("change", { bubbles: true }));
        });
      });
    });
  }

  function initAll(root) {
    initSortables(root);
    initTimers(root);
    initSteppers(root);
  }

  function boot() {
    initSidebar();
    if (window.htmx) {
      htmx.onLoad(function (content) { initAll(content); });
    } else {
      initAll(document);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
  document.addEventListener("htmx:afterSettle", initSidebar);
})();

/* -- Message drafts (/comms/drafts): the "Copy" button ------------------------------------------
   Copies the text of the element named by data-copy. navigator.clipboard needs a secure context
   (https or localhost); a shop reaching the server over plain http on its LAN has none, so the
   text is then copied from a hidden textarea, and if even that is refused it is left selected for
   Ctrl+C. The buttons are hidden until this file runs (html.js), since without it they do nothing. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  function show(button, label) {
    clearTimeout(button._copyTimer);
    button.textContent = label;
    button._copyTimer = setTimeout(function () { button.textContent = "Copy"; }, 2000);
  }

  function copyThroughTextarea(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "-1000px";
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
    document.body.removeChild(area);
    return copied;
  }

  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function fallback(button, source, text) {
    if (copyThroughTextarea(text)) { show(button, "Copied"); return; }
    selectText(source);
    show(button, "Selected: press Ctrl+C");
  }

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.dataset.copy);
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { show(button, "Copied"); },
        function () { fallback(button, source, text); }
      );
    } else {
      fallback(button, source, text);
    }
  });
})();

/* -- The bell (both headers): its dropdown, and polling while the live stream is down ------------
   The badge is live over SSE (the htmx sse extension swaps it on each "bell" event). When that
   stream errors, ends or never opens, the count is polled from /notifications/count every 5 s,
   and polling stops as soon as the stream is open again. The bell itself is a link to
   /notifications/list; with htmx it drops the list down instead, and a second click closes it. */
(function () {
  "use strict";

  var POLL_MS = 5000;
  var poller = null;

  function showCount(count) {
    var badge = document.getElementById("bell-count");
    if (!badge) return;
    badge.dataset.count = String(count);
    badge.textContent = String(count);
  }

  function poll() {
    if (!document.getElementById("bell-count")) { stopPolling(); return; }
    fetch("/notifications/count", { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.redirected) { stopPolling(); return null; }  // logged out: nothing to count
        return response.ok ? response.json() : null;
      })
      .then(function (data) { if (data && typeof data.count === "number") showCount(data.count); })
      .catch(function () { /* offline: try again at the next tick */ });
  }

  function startPolling() { if (poller === null) poller = setInterval(poll, POLL_MS); }
  function stopPolling() { if (poller !== null) { clearInterval(poller); poller = null; } }

  function inBell(evt) { return evt.target && evt.target.closest && evt.target.closest(".bell"); }

  // data-live on the bell says which way the count is coming in (the stream or polling).
  function streamUp(evt) {
    var bell = inBell(evt);
    if (!bell) return;
    bell.dataset.live = "true";
    stopPolling();
  }
  function streamDown(evt) {
    var bell = inBell(evt);
    if (!bell) return;
    bell.dataset.live = "false";
    startPolling();
  }
  document.addEventListener("htmx:sseOpen", streamUp);
  document.addEventListener("htmx:sseError", streamDown);
  document.addEventListener("htmx:sseClose", streamDown);
  // Poll until the stream has opened: a page whose stream never connects still counts.
  startPolling();

  function closePanel(bell, focusButton) {
    var panel = bell.querySelector(".bell-panel");
    var button = bell.querySelector(".bell-btn");
    if (panel) panel.innerHTML = "";
    if (button) {
      button.setAttribute("aria-expanded", "false");
      if (focusButton) button.focus();
    }
  }

  function isOpen(bell) {
    var panel = bell.querySelector(".bell-panel");
    return !!panel && panel.childElementCount > 0;
  }

  // A click on the open bell closes the list instead of loading it again.
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail.elt;
    if (!elt.classList || !elt.classList.contains("bell-btn")) return;
    var bell = elt.closest(".bell");
    if (bell && isOpen(bell)) { evt.preventDefault(); closePanel(bell, false); }
  });

  document.addEventListener("htmx:afterSwap", function (evt) {
    var target = evt.detail.target;
    if (!target || !target.classList || !target.classList.contains("bell-panel")) return;
    var button = target.closest(".bell").querySelector(".bell-btn");
    if (button) button.setAttribute("aria-expanded", isOpen(target.closest(".bell")) ? "true" : "false");
  });

  document.addEventListener("click", function (evt) {
    document.querySelectorAll(".bell").forEach(function (bell) {
      if (isOpen(bell) && !bell.contains(evt.target)) closePanel(bell, false);
    });
  });

  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") return;
    document.querySelectorAll(".bell").forEach(function (bell) { if (isOpen(bell)) closePanel(bell, true); });
  });
})();

/* -- The daily report (/reports/daily): Print, and the download after "Generate now" ----------------
   Both were inline handlers; here they work under a Content-Security-Policy without 'unsafe-inline'.
   The Print button is hidden until this file runs (html.js), since without it it does nothing.
   Generate now with htmx answers with the new report and a "report-generated" event naming its
   .txt; the browser then fetches that, as the plain form post would have downloaded it. */
(function () {
  "use strict";

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-print]");
    if (button) window.print();
  });

  document.addEventListener("report-generated", function (evt) {
    var target = evt.detail && evt.detail.download;
    // Only a report's own .txt: the event comes from our response, but a path is all it may name.
    if (typeof target === "string" && /^\/reports\/daily\/\d+\.txt$/.test(target)) window.location.assign(target);
  });
})();

// ---- Files (issue 13): drop a file on an upload form to send it (the plain file input works without JS).
document.addEventListener("dragover", (event) => {
  const zone = event.target instanceof Element && event.target.closest("[data-dropzone]");
  if (zone) { event.preventDefault(); zone.classList.add("dragging"); }
});
document.addEventListener("dragleave", (event) => {
  const zone = event.target instanceof Element && event.target.closest("[data-dropzone]");
  if (zone) zone.classList.remove("dragging");
});
document.addEventListener("drop", (event) => {
  const zone = event.target instanceof Element && event.target.closest("[data-dropzone]");
  if (!zone || !event.dataTransfer || !event.dataTransfer.files.length) return;
  event.preventDefault();
  zone.classList.remove("dragging");
  const input = zone.querySelector("input[type=file]");
  input.files = event.dataTransfer.files;
  zone.requestSubmit();
});
