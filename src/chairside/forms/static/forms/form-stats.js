// Bar charts of the options of each choice field on a template's data page (ECharts).
// The page embeds {field key: {labels, counts}} with json_script; the table beside each
// chart has the same numbers, so the page reads without JavaScript too.
(function () {
  "use strict";

  function draw() {
    var node = document.getElementById("form-stats-data");
    if (!node || !window.echarts) {
      return;
    }
    var data = JSON.parse(node.textContent);
    document.querySelectorAll(".form-stats-chart").forEach(function (element) {
      var series = data[element.dataset.chart];
      if (!series) {
        return;
      }
      var chart = window.echarts.init(element);
      chart.setOption({
        grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", data: series.labels, inverse: true },
        tooltip: { trigger: "axis" },
        series: [{ type: "bar", data: series.counts, itemStyle: { color: "#2563eb" } }],
      });
      window.addEventListener("resize", function () {
        chart.resize();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
