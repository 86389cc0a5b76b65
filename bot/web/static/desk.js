// The desk: live countdowns, live updates over server-sent events, library answers as reply drafts.
(function () {
  "use strict";

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function phrase(ms) {
    var s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d > 0) { return d + "d " + h + "h"; }
    if (h > 0) { return h + "h " + pad(m) + "m"; }
    return m + "m " + pad(s % 60) + "s";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) { return; }
      var left = due - now;
      // The words come translated from the page (data-due-in, data-overdue: "... {time} ...").
      var words = left >= 0 ? el.getAttribute("data-due-in") || "due in {time}"
                            : el.getAttribute("data-overdue") || "overdue {time}";
      el.textContent = words.replace("{time}", phrase(left));
      el.classList.toggle("overdue", left < 0);
      el.classList.toggle("soon", left >= 0 && left < 3600 * 1000);
    });
  }

  function refresh(questionId) {
    if (!window.htmx) { return; }
    window.htmx.trigger(document.body, "queue-changed");
    var current = document.body.getAttribute("data-question-id");
    if (current && (questionId === null || String(questionId) === current)) {
      window.htmx.trigger(document.body, "question-changed");
    }
  }

  function connect() {
    if (!window.EventSource) { return; }
    var live = document.getElementById("live");
    var opened = false;
    var source = new EventSource("/events");
    source.addEventListener("open", function () {
      if (live) { live.classList.add("on"); }
      if (opened) { refresh(null); }  // reconnected: catch up on anything missed
      opened = true;
    });
    source.addEventListener("error", function () { if (live) { live.classList.remove("on"); } });
    source.addEventListener("question", function (event) {
      var data = {};
      try { data = JSON.parse(event.data); } catch (e) { return; }
      refresh(data.question_id);
    });
  }

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.classList || !select.classList.contains("reply-template") || !select.value) { return; }
    var target = document.getElementById(select.getAttribute("data-target"));
    if (target) {
      target.value = select.value;
      target.focus();
      if (window.htmx) { window.htmx.trigger(target, "preview"); }  // show the filled text
    }
  });

  document.addEventListener("htmx:afterSwap", tick);
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 1000);
    connect();
  });
})();
