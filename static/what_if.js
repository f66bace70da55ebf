// The what-if result's chart (Apache ECharts, static/echarts.simple.min.js): members per tier, now and under the
// draft. The data comes from a JSON island named by the chart's data-chart attribute (no inline script: CSP).
(function () {
  "use strict";

  function draw(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var boxes = scope.querySelectorAll("[data-chart]");
    if (root && root.matches && root.matches("[data-chart]")) boxes = [root];
    Array.prototype.forEach.call(boxes, function (box) {
      if (box.dataset.drawn || typeof window.echarts === "undefined") return;
      var source = document.getElementById(box.dataset.chart);
      if (!source) return;
      var data = JSON.parse(source.textContent);
      var chart = window.echarts.init(box, null, { renderer: "canvas" });
      chart.setOption({
        animation: false,
        color: ["#9aa0a6", "#c2410c"],
        tooltip: { trigger: "axis" },
        legend: { data: [data.labels.now, data.labels.draft] },
        grid: { left: 48, right: 16, top: 40, bottom: 32 },
        xAxis: { type: "category", data: data.tiers },
        yAxis: { type: "value", minInterval: 1 },
        series: [
          { name: data.labels.now, type: "bar", data: data.now },
          { name: data.labels.draft, type: "bar", data: data.draft }
        ]
      });
      box.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:load", function (event) { draw(event.target); });
})();
