// The 80 mm receipt page: the Print button, and printing on load when the page asks for it
// (data-autoprint on <body>). A file, not inline script, so the page works under the Content-Security-Policy.
(function () {
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("print-receipt");
    if (button) button.addEventListener("click", function () { window.print(); });
  });
  window.addEventListener("load", function () {
    if (document.body && document.body.hasAttribute("data-autoprint")) window.print();
  });
})();
