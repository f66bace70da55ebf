// The counter tablet's few lines (CSP: no inline script). htmx shows refusals in place, the PIN
// keypad types into its field, and an idle tablet goes back to the PIN pad.
(function () {
  if (window.htmx) {
    // Refusals (422 invalid, 409 conflict, 423 locked, 429 too many) carry the form to show again.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "(409|422|423|429)", swap: true, error: false },
      { code: "[45]..", swap: false, error: true },
    ];
  }

  document.addEventListener("click", function (event) {
    var key = event.target.closest && event.target.closest("[data-key]");
    var pad = key && key.closest("[data-keypad-for]");
    var input = pad && document.getElementById(pad.getAttribute("data-keypad-for"));
    if (!input) return;
    var value = key.getAttribute("data-key");
    if (value === "clear") input.value = "";
    else if (value === "back") input.value = input.value.slice(0, -1);
    else if (input.value.length < (input.maxLength > 0 ? input.maxLength : 6)) input.value += value;
    input.focus();
  });

  var bar = document.querySelector("[data-counter-idle]");
  if (bar) {
    var limit = parseInt(bar.getAttribute("data-counter-idle"), 10) * 1000;
    var timer;
    var lock = function () {
      document.getElementById("counter-lock-reason").value = "idle";
      document.getElementById("counter-lock").submit();
    };
    var reset = function () {
      clearTimeout(timer);
      timer = setTimeout(lock, limit);
    };
    ["pointerdown", "keydown", "input"].forEach(function (type) {
      document.addEventListener(type, reset, true);
    });
    document.addEventListener("htmx:afterRequest", reset);
    reset();
  }
})();
