// Draws every <div class="chart" data-spec="ID"> from the Vega-Lite spec in <script type="application/json" id="ID">.
// The expression interpreter (not `new Function`) and no injected styles keep the page within its
// Content-Security-Policy (script-src 'self', style-src 'self', no eval).
"use strict";
(function () {
  function draw(el) {
    var source = document.getElementById(el.dataset.spec);
    if (!source || el.dataset.drawn) { return; }
    var spec = JSON.parse(source.textContent);
    var options = {
      actions: false,
      renderer: "svg",
      ast: true,
      expr: vega.expressionInterpreter,
      defaultStyle: false,
      tooltip: { disableDefaultStyle: true }
    };
    vegaEmbed(el, spec, options).then(function () {
      el.dataset.drawn = "true";
    }).catch(function (error) {
      el.textContent = "This chart could not be drawn: " + error.message;
      el.dataset.drawn = "failed";
    });
  }
  function drawAll(root) {
    root.querySelectorAll(".chart[data-spec]").forEach(draw);
  }
  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSwap", function (event) { drawAll(event.target); });
})();
