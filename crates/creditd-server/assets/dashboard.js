// creditd dashboard: tooltips for chart marks on hover and keyboard focus,
// forms that send only the fields filled in, and a tab strip that shows
// the current tab on a narrow screen. The pages work without it (every mark
// also has an SVG <title>, the tables show the same numbers, and the server
// ignores empty fields).
(function () {
  "use strict";
  var tip = null;
  function show(el) {
    tip = tip || document.getElementById("tip");
    if (!tip) return;
    tip.textContent = el.getAttribute("data-tip");
    tip.hidden = false;
    var r = el.getBoundingClientRect();
    var w = tip.offsetWidth, h = tip.offsetHeight;
    var x = r.left + window.scrollX + r.width / 2 - w / 2;
    var y = r.top + window.scrollY - h - 8;
    if (y < window.scrollY) y = r.bottom + window.scrollY + 8;
    x = Math.max(window.scrollX + 4, Math.min(x, window.scrollX + document.documentElement.clientWidth - w - 4));
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }
  function hide() { if (tip) tip.hidden = true; }
  function mark(t) { return t && t.closest ? t.closest("[data-tip]") : null; }
  document.addEventListener("pointerover", function (e) { var m = mark(e.target); if (m) show(m); });
  document.addEventListener("pointerout", function (e) { if (mark(e.target)) hide(); });
  document.addEventListener("focusin", function (e) { var m = mark(e.target); if (m) show(m); else hide(); });
  document.addEventListener("focusout", hide);
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") hide(); });
  window.addEventListener("resize", hide);

  // A GET form sends the fields that have a value: `?event_type=debit`,
  // not `?date_from=&date_to=&pool=&…&event_type=debit`.
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (!f || (f.method || "").toLowerCase() !== "get" || e.defaultPrevented) return;
    var params = new URLSearchParams(), data;
    // The button pressed names the export's format.
    try { data = new FormData(f, e.submitter); } catch (_) { data = new FormData(f); }
    data.forEach(function (v, k) { if (typeof v === "string" && v.trim() !== "") params.append(k, v); });
    e.preventDefault();
    var q = params.toString();
    window.location.assign(f.action.split("?")[0] + (q ? "?" + q : ""));
  });

  // On a narrow screen the tab strip scrolls: bring the current tab into it.
  function showCurrentTab() {
    var cur = document.querySelector("nav.tabs [aria-current=page]");
    var strip = cur && cur.closest("ul");
    if (!strip || strip.scrollWidth <= strip.clientWidth) return;
    var a = cur.getBoundingClientRect(), s = strip.getBoundingClientRect();
    strip.scrollLeft += a.left - s.left - (strip.clientWidth - a.width) / 2;
  }
  showCurrentTab();
  window.addEventListener("resize", showCurrentTab);
})();
