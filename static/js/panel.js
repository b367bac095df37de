// CSRF for htmx requests: Django reads the token from this header.
document.addEventListener("htmx:configRequest", function (event) {
  var token = document.querySelector("meta[name=csrf-token]");
  if (token) { event.detail.headers["X-CSRFToken"] = token.content; }
});
// Charts: each <canvas data-chart="id"> reads its data from the json_script with that id.
document.addEventListener("DOMContentLoaded", function () {
  if (typeof Chart === "undefined") { return; }
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var spec = JSON.parse(document.getElementById(canvas.dataset.chart).textContent);
    new Chart(canvas, spec);
  });
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
