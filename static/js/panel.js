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
    // Two cut-off bars side by side would write their values over each other: the second
    // goes one line higher.
    var lastRight = -Infinity;
    var row = 0;
    chart.data.datasets.forEach(function (dataset, i) {
      var meta = chart.getDatasetMeta(i);
      if (meta.hidden) { return; }
      dataset.data.forEach(function (value, j) {
        if (value > y.max && meta.data[j]) {
          var text = String(value);
          var half = ctx.measureText(text).width / 2;
          // Kept inside the canvas: the last day's bar sits at the right edge.
          var x = Math.min(Math.max(meta.data[j].x, half), chart.width - half);
          row = x - half < lastRight + 2 ? 1 - row : 0;
          lastRight = x + half;
          ctx.fillStyle = Chart.defaults.color;
          ctx.fillText(text, x, chart.chartArea.top - 2 - row * 12);
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
// Progressive enhancement: the CSS collapses the navigation on a phone only where this runs.
document.documentElement.classList.add("js");
// The navigation's Menu button (phones): opens and closes the panel with every link.
document.addEventListener("click", function (event) {
  var toggle = event.target.closest("[data-nav-toggle]");
  if (!toggle) { return; }
  var panel = document.getElementById(toggle.getAttribute("aria-controls"));
  var open = toggle.getAttribute("aria-expanded") !== "true";
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
  if (panel) { panel.classList.toggle("open", open); }
});
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") { return; }
  var toggle = document.querySelector("[data-nav-toggle][aria-expanded=true]");
  if (!toggle) { return; }
  toggle.setAttribute("aria-expanded", "false");
  var panel = document.getElementById(toggle.getAttribute("aria-controls"));
  if (panel) { panel.classList.remove("open"); }
  toggle.focus();
});
// Copy buttons beside revealed credentials: <button data-copy="text">; says "Copied" a while.
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-copy]");
  if (!button || !navigator.clipboard) { return; }
  navigator.clipboard.writeText(button.dataset.copy).then(function () {
    if (!button.dataset.label) { button.dataset.label = button.textContent; }
    button.textContent = button.dataset.copiedText || "Copied";
    button.classList.add("copied");
    var status = button.parentElement.querySelector("[data-copy-status]");
    if (status) { status.textContent = button.dataset.copiedText || "Copied"; }
    setTimeout(function () {
      button.textContent = button.dataset.label;
      button.classList.remove("copied");
    }, 2000);
  });
});
// New account: picking a subscriber from the search fills the hidden subscriber id.
document.addEventListener("click", function (event) {
  var pick = event.target.closest("[data-subscriber-pick]");
  if (!pick) { return; }
  var input = pick.querySelector("input[name=subscriber]");
  var chosen = pick.querySelector("[data-chosen]");
  var choice = event.target.closest("button[data-subscriber-id]");
  if (choice) {
    input.value = choice.dataset.subscriberId;
    pick.querySelector("[data-chosen-label]").textContent = choice.dataset.subscriberLabel;
    chosen.hidden = false;
    pick.querySelector("#subscriber-results").innerHTML = "";
    chosen.querySelector("button").focus();
  } else if (event.target.closest("[data-clear-subscriber]")) {
    input.value = "";
    chosen.hidden = true;
    pick.querySelector("input[type=search]").focus();
  }
});
// A field shown only for some values of another: <div data-show-when="delivery"
// data-show-values="smtp"> (the SMTP fields). Without JS every field shows.
function panelShowWhen(root) {
  root.querySelectorAll("[data-show-when]").forEach(function (field) {
    var form = field.closest("form");
    var control = form && form.elements[field.dataset.showWhen];
    if (!control || field.dataset.showBound) { return; }
    field.dataset.showBound = "1";
    var values = (field.dataset.showValues || "").split(" ");
    var update = function () { field.hidden = values.indexOf(control.value) === -1; };
    control.addEventListener("change", update);
    update();
  });
}
document.addEventListener("DOMContentLoaded", function () { panelShowWhen(document); });
document.addEventListener("htmx:load", function (event) { panelShowWhen(event.detail.elt); });
