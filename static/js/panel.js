// CSRF for htmx requests: Django reads the token from this header.
document.addEventListener("htmx:configRequest", function (event) {
  var token = document.querySelector("meta[name=csrf-token]");
  if (token) { event.detail.headers["X-CSRFToken"] = token.content; }
});
// A bar taller than the y axis's max (the overview caps its credits chart so that one big
// day does not flatten the rest) is cut off at the top: write its true value above it.
var clippedBarValues = {
  id: "clippedBarValues",
  afterDatasetsDraw: function (chart) {
    var y = chart.options.scales && chart.options.scales.y;
    if (!y || typeof y.max !== "number") { return; }
    var ctx = chart.ctx;
    ctx.save();
    ctx.font = "bold 11px sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    chart.data.datasets.forEach(function (dataset, i) {
      var meta = chart.getDatasetMeta(i);
      if (meta.hidden) { return; }
      dataset.data.forEach(function (value, j) {
        if (value > y.max && meta.data[j]) {
          var text = String(value);
          var half = ctx.measureText(text).width / 2;
          // Kept inside the canvas: the last day's bar sits at the right edge.
          var x = Math.min(Math.max(meta.data[j].x, half), chart.width - half);
          ctx.fillStyle = Chart.defaults.color;
          ctx.fillText(text, x, chart.chartArea.top - 2);
        }
      });
    });
    ctx.restore();
  }
};
// Charts: each <canvas data-chart="id"> reads its data from the json_script with that id.
document.addEventListener("DOMContentLoaded", function () {
  if (typeof Chart === "undefined") { return; }
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var spec = JSON.parse(document.getElementById(canvas.dataset.chart).textContent);
    spec.plugins = [clippedBarValues];
    new Chart(canvas, spec);
  });
});
