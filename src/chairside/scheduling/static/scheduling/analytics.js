// Draws the booking analytics page's charts from the JSON the page embeds (#analytics-data).
(function () {
  "use strict";

  function draw() {
    var source = document.getElementById("analytics-data");
    if (!source || !window.echarts) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var labels = data.labels;

    var utilisation = window.echarts.init(document.getElementById("chart-utilisation"));
    utilisation.setOption({
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "–" : v + "%"; } },
      legend: { data: [labels.doctors, labels.chairs] },
      xAxis: { type: "category", data: data.days },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: [
        { name: labels.doctors, type: "line", data: data.doctor_rate, connectNulls: false },
        { name: labels.chairs, type: "line", data: data.chair_rate, connectNulls: false },
      ],
    });

    var leadTime = window.echarts.init(document.getElementById("chart-lead-time"));
    leadTime.setOption({
      tooltip: { trigger: "axis" },
      legend: { data: [labels.median, labels.p90] },
      xAxis: { type: "category", data: data.sources },
      yAxis: { type: "value", name: "h" },
      series: [
        { name: labels.median, type: "bar", data: data.median_hours },
        { name: labels.p90, type: "bar", data: data.p90_hours },
      ],
    });

    window.addEventListener("resize", function () {
      utilisation.resize();
      leadTime.resize();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
