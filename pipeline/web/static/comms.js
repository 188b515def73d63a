// Small enhancements only: every page works without this file.
// Move focus to the error summary when a form comes back with problems (GOV.UK pattern).
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector("[data-autofocus]");
  if (summary) { summary.focus(); }
});
