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
