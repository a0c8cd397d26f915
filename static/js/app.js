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

  function boot() {
    initSidebar();
    if (window.htmx) {
      htmx.onLoad(function (content) { initSortables(content); });
    } else {
      initSortables(document);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
  document.addEventListener("htmx:afterSettle", initSidebar);
})();
