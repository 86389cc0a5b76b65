// The citizen web chat: send with fetch, poll for replies, render every text as text (never HTML).
(function () {
  "use strict";
  var root, log, form, input, errorBox, lastId = 0, polling = false, csrf = "";

  function token() {
    var a = new Uint8Array(12);
    window.crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function showError(show) {
    errorBox.textContent = show ? root.getAttribute("data-send-failed") : "";
    errorBox.classList.toggle("hidden", !show);
  }

  function buttonsFor(message) {
    var box = document.createElement("form");
    box.className = "chat-buttons";
    message.buttons.forEach(function (b) {
      var button = document.createElement("button");
      button.type = "submit";
      button.name = "data";
      button.value = b.data;
      button.className = "secondary";
      button.textContent = b.label;
      box.appendChild(button);
    });
    return box;
  }

  function append(message) {
    if (log.querySelector('[data-id="' + message.id + '"]')) { return; }
    var li = document.createElement("li");
    li.className = "msg " + message.direction + " " + message.kind;
    li.setAttribute("data-id", String(message.id));
    li.appendChild(document.createTextNode(message.text));
    if (message.buttons && message.buttons.length) { li.appendChild(buttonsFor(message)); }
    log.appendChild(li);
    lastId = Math.max(lastId, message.id);
    li.scrollIntoView({block: "end"});
  }

  function poll() {
    if (polling) { return Promise.resolve(); }
    polling = true;
    return fetch("/chat/messages?after=" + lastId, {headers: {"Accept": "application/json"},
                                                      credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {messages: []}; })
      .then(function (body) { body.messages.forEach(append); })
      .catch(function () {})
      .then(function () { polling = false; });
  }

  function pollSoon() {
    [250, 800, 1600, 3000].forEach(function (ms) { window.setTimeout(poll, ms); });
  }

  function post(url, data) {
    data.append("lang", root.getAttribute("data-lang"));
    return fetch(url, {method: "POST", body: data, credentials: "same-origin",
                       headers: {"Accept": "application/json", "X-CSRF-Token": csrf}});
  }

  function send(event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) { return; }
    var data = new FormData();
    data.append("text", text);
    data.append("client_id", token());
    input.value = "";
    post("/chat/send", data).then(function (r) {
      if (!r.ok) { throw new Error(String(r.status)); }
      showError(false);
      pollSoon();
    }).catch(function () { input.value = text; showError(true); });
  }

  function press(event) {
    var box = event.target;
    if (!box.classList || !box.classList.contains("chat-buttons")) { return; }
    event.preventDefault();
    var chosen = event.submitter;
    if (!chosen) { return; }
    var data = new FormData();
    data.append("data", chosen.value);
    box.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    post("/chat/button", data).then(function () { pollSoon(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    root = document.getElementById("chat");
    if (!root) { return; }
    log = document.getElementById("chat-log");
    form = document.getElementById("chat-form");
    input = document.getElementById("chat-text");
    errorBox = document.getElementById("chat-error");
    csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
    lastId = parseInt(root.getAttribute("data-last-id"), 10) || 0;
    form.addEventListener("submit", send);
    log.addEventListener("submit", press);
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) { send(e); }
    });
    window.setInterval(poll, 2000);
    var last = log.lastElementChild;
    if (last) { last.scrollIntoView({block: "end"}); }
  });
})();
