// Products list: save one row's price and stock without reloading the page.
// Without JS (or if fetch fails) the row's form posts normally and the page reloads.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.matches("[data-row-form]") || !window.fetch) return;
  var row = form.closest("[data-row]");
  var button = form.querySelector("button");
  event.preventDefault();
  button.disabled = true;
  fetch(form.action, {
    method: "POST", body: new FormData(form), credentials: "same-origin",
    headers: {"X-Fragment": "row"}
  }).then(function (response) {
    if (!response.ok && response.status !== 400) throw new Error(response.status);
    return response.text();
  }).then(function (html) {
    var holder = document.createElement("ul");
    holder.innerHTML = html.trim();
    var fresh = holder.firstElementChild;
    row.replaceWith(fresh);
    var wrong = fresh.querySelector(".has-error input");
    if (wrong) wrong.focus();
  }).catch(function () {
    form.submit();
  });
});
