// The console's only script: filtering the catalogue as one types, the try-out's tabs, and
// opening every folded part before printing (the printed catalogue is the review sheet).
// Everything also works without it: the search form submits, the panels are all shown.
(function () {
  "use strict";

  function numberPattern(word) {
    var plain = word.indexOf(".") >= 0 ? word.replace(/0+$/, "").replace(/\.$/, "") : word;
    return new RegExp("(^|[^\\d.])" + plain.replace(/\./g, "\\.") + "(\\.0+)?(?![\\d]|\\.\\d)");
  }

  function matches(text, query) {
    var words = query.toLowerCase().split(/\s+/).filter(Boolean);
    return words.every(function (word) {
      return /^\d+(\.\d+)?$/.test(word) ? numberPattern(word).test(text) : text.indexOf(word) >= 0;
    });
  }

  function setUpSearch() {
    var input = document.getElementById("q");
    var status = document.getElementById("search-count");
    if (!input) return;
    var rules = Array.prototype.slice.call(document.querySelectorAll("article.rule[data-search]"));
    var timer = null;
    function apply() {
      var query = input.value.trim();
      var shown = 0;
      rules.forEach(function (rule) {
        var ok = !query || matches(rule.getAttribute("data-search"), query);
        rule.hidden = !ok;
        if (ok) shown += 1;
      });
      document.querySelectorAll("section.module").forEach(function (section) {
        var any = section.querySelector("article.rule:not([hidden])");
        section.hidden = Boolean(query) && !any && !matches(section.getAttribute("data-search") || "", query);
      });
      status.textContent = query ? shown + " of " + rules.length + " rules match \u201c" + query + "\u201d." : "";
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(apply, 120);
    });
  }

  function setUpTabs() {
    var box = document.querySelector("[data-tabs]");
    if (!box) return;
    var list = box.querySelector("[role=tablist]");
    var tabs = Array.prototype.slice.call(list.querySelectorAll("[role=tab]"));
    list.hidden = false;
    box.classList.add("js");
    function select(tab, focus) {
      tabs.forEach(function (other) {
        var on = other === tab;
        other.setAttribute("aria-selected", on ? "true" : "false");
        other.tabIndex = on ? 0 : -1;
        document.getElementById(other.getAttribute("aria-controls")).hidden = !on;
      });
      if (focus) tab.focus();
    }
    tabs.forEach(function (tab, n) {
      tab.addEventListener("click", function () { select(tab, false); });
      tab.addEventListener("keydown", function (event) {
        var next = null;
        if (event.key === "ArrowRight") next = tabs[(n + 1) % tabs.length];
        if (event.key === "ArrowLeft") next = tabs[(n - 1 + tabs.length) % tabs.length];
        if (event.key === "Home") next = tabs[0];
        if (event.key === "End") next = tabs[tabs.length - 1];
        if (next) { event.preventDefault(); select(next, true); }
      });
    });
    var current = tabs.filter(function (t) { return t.getAttribute("aria-selected") === "true"; })[0] || tabs[0];
    select(current, false);
    var result = document.getElementById("result-h");
    if (result) result.focus();
  }

  function setUpPrint() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
    var opened = [];
    window.addEventListener("beforeprint", function () {
      document.querySelectorAll("details:not([open])").forEach(function (d) { d.open = true; opened.push(d); });
    });
    window.addEventListener("afterprint", function () {
      opened.forEach(function (d) { d.open = false; });
      opened = [];
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpSearch();
    setUpTabs();
    setUpPrint();
  });
})();
