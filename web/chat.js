// qi-coach web chat: a small client for the project's socket.io channel
// (qi_coach/channels/webchat.py). The server issues a signed session token; it is kept in
// localStorage so a reload (or a server restart) continues the same conversation, and sent
// with every message. Bot replies are Markdown, rendered by marked and cleaned by DOMPurify;
// the user's own text is only ever set as text, never parsed as HTML.
(function () {
  "use strict";

  var TOKEN_KEY = "qi-coach.session";
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("message");
  var send = document.getElementById("send");
  var status = document.getElementById("status");
  var newChat = document.getElementById("new-chat");

  marked.setOptions({ gfm: true, breaks: true });
  DOMPurify.addHook("afterSanitizeAttributes", function (node) {
    if (node.tagName === "A") {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    }
  });

  // The socket.io server is on this page's origin (Rasa serves both).
  var socket = io({ path: "/socket.io", transports: ["websocket", "polling"] });
  var token = null;

  function setStatus(text) {
    status.textContent = text;
    status.hidden = !text;
  }

  function setEnabled(enabled) {
    input.disabled = !enabled;
    send.disabled = !enabled;
  }

  function scrollToEnd() {
    window.requestAnimationFrame(function () {
      log.lastElementChild && log.lastElementChild.scrollIntoView({ block: "end" });
    });
  }

  function addUser(text) {
    var item = document.createElement("li");
    item.className = "message user";
    var who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = "You said: ";
    var body = document.createElement("p");
    body.textContent = text;
    item.appendChild(who);
    item.appendChild(body);
    log.appendChild(item);
    scrollToEnd();
  }

  function addBot(message, live) {
    var item = document.createElement("li");
    item.className = "message bot";
    var who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = "qi-coach said: ";
    item.appendChild(who);
    if (message.text) {
      var body = document.createElement("div");
      body.className = "markdown";
      body.innerHTML = DOMPurify.sanitize(marked.parse(message.text), { USE_PROFILES: { html: true } });
      item.appendChild(body);
    }
    var buttons = message.buttons || [];
    if (buttons.length) {
      var group = document.createElement("div");
      group.className = "buttons";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "Suggested replies");
      buttons.forEach(function (b) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = b.title;
        button.disabled = !live;
        button.addEventListener("click", function () {
          Array.prototype.forEach.call(group.querySelectorAll("button"), function (other) {
            other.disabled = true;
          });
          button.classList.add("chosen");
          say(b.payload, b.title);
        });
        group.appendChild(button);
      });
      item.appendChild(group);
    }
    log.appendChild(item);
    scrollToEnd();
    return item;
  }

  function disableOldButtons() {
    Array.prototype.forEach.call(log.querySelectorAll(".buttons button"), function (b) {
      b.disabled = true;
    });
  }

  function say(payload, display) {
    if (!token) return;
    disableOldButtons();
    addUser(display || payload);
    setStatus("qi-coach is thinking…");
    socket.emit("user_uttered", { token: token, message: payload, display: display || null });
  }

  socket.on("connect", function () {
    setStatus("Connected. Starting your conversation…");
    socket.emit("session_request", { token: window.localStorage.getItem(TOKEN_KEY) });
  });

  socket.on("session_confirm", function (data) {
    token = data.token;
    window.localStorage.setItem(TOKEN_KEY, token);
    log.textContent = "";
    var history = data.history || [];
    var lastUser = -1;
    history.forEach(function (m, i) { if (m.from === "user") lastUser = i; });
    history.forEach(function (m, i) {
      if (m.from === "user") addUser(m.text);
      else addBot(m, i > lastUser);  // only the latest replies' buttons can still be pressed
    });
    setEnabled(true);
    if (!history.length) {
      // a new conversation starts with the coach's greeting, not with a message from the user
      setStatus("");
      socket.emit("user_uttered", { token: token, message: "/greet", display: null });
    } else {
      setStatus("");
    }
    input.focus();
  });

  socket.on("bot_uttered", function (message) {
    setStatus("");
    addBot(message, true);
  });

  socket.on("error_message", function (data) {
    setStatus(data && data.message ? data.message : "Something went wrong.");
  });

  socket.on("disconnect", function () {
    setEnabled(false);
    setStatus("Connection lost. Reconnecting…");
  });

  socket.io.on("reconnect_failed", function () {
    setStatus("qi-coach cannot be reached. Check that it is running, then reload the page.");
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) {
      setStatus("Type a message first.");
      input.focus();
      return;
    }
    input.value = "";
    say(text, null);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  document.getElementById("triage").addEventListener("click", function () {
    say("/start_triage", "Help me work out why my project is stuck");
  });

  // The plan is fetched with the session token in a header (never in the address, where it
  // would end up in logs), then saved from memory as a Markdown file.
  document.getElementById("download-plan").addEventListener("click", function () {
    if (!token) return;
    fetch("plan", { headers: { "X-Session-Token": token } }).then(function (reply) {
      if (reply.status === 404) {
        setStatus("There is no plan yet: the guided triage makes one.");
        return null;
      }
      if (!reply.ok) throw new Error("status " + reply.status);
      return reply.blob();
    }).then(function (blob) {
      if (!blob) return;
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = "qi-coach-action-plan.md";
      document.body.appendChild(link);
      link.click();
      link.remove();
      setStatus("Your plan was downloaded as qi-coach-action-plan.md.");
    }).catch(function () {
      setStatus("The plan could not be downloaded. Try again in a moment.");
    });
  });

  newChat.addEventListener("click", function () {
    window.localStorage.removeItem(TOKEN_KEY);
    token = null;
    log.textContent = "";
    setEnabled(false);
    socket.emit("session_request", { token: null });
  });

  setEnabled(false);
})();
