// Console-wide behaviour. No inline scripts anywhere: the CSP allows scripts from /static only.
(function () {
  "use strict";
  // Every htmx request carries the page's CSRF token as a header.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.getAttribute("content"); }
  });
  // A 401 from an htmx request means the session ended: go to the login page.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status === 401) {
      window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname);
    }
  });
  // Forms with data-confirm ask before submitting (close as spam, delete, ...).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  }, true);
})();
