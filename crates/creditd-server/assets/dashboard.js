// creditd dashboard: tooltips for chart marks on hover and keyboard focus.
// The pages work without it (every mark also has an SVG <title> and the
// tables show the same numbers).
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
})();
