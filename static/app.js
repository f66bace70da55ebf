// Our few lines of script (CSP allows no inline script). htmx does the rest.
document.addEventListener("focusin", function (event) {
  if (event.target.matches && event.target.matches("[data-select-on-focus]")) {
    event.target.select();
  }
});

// A button with data-copy="#id" puts that field's value on the clipboard and says so (data-copied).
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-copy]");
  if (!button) return;
  var field = document.querySelector(button.getAttribute("data-copy"));
  if (!field) return;
  var done = function () { button.textContent = button.getAttribute("data-copied"); };
  field.select();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, function () { if (document.execCommand("copy")) done(); });
  } else if (document.execCommand("copy")) {
    done();
  }
});
