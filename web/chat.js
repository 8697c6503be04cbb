// qi-coach web chat: a small client for the project's socket.io channel
// (qi_coach/channels/webchat.py). The server issues a signed session token; it is kept in
// localStorage so a reload (or a server restart) continues the same conversation, and sent
// with every message. Sessions expire on the server (12 hours unused, 7 days in all), so a
// shared computer does not show the last person's conversation; "Start a new conversation"
// ends the old session on the server, and "Delete my data" deletes it. Bot replies are Markdown, rendered by marked and cleaned by DOMPurify;
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
  var forget = document.getElementById("forget");
  // The server answers within 10 seconds, even when part of it is down; this covers the rest.
  var NO_REPLY_MS = 15000;
  var waiting = null;
  var pendingNote = "";  // why a new session is starting, shown once it has
  var note = "";  // that reason, kept in view until the person writes

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
  // The message sent last, until the server confirms it was received ({id, payload, display}):
  // if the connection drops first (its server stopped, say), it is sent again, with the same id,
  // once the session is back; the server handles an id once.
  var pending = null;

  function setStatus(text) {
    status.textContent = text;
    status.hidden = !text;
  }

  function setEnabled(enabled) {
    input.disabled = !enabled;
    send.disabled = !enabled;
    document.getElementById("upload").disabled = !enabled;
  }

  // To the bottom of the page, so the newest message sits just above the composer (which is
  // sticky, and would cover a message scrolled to the end of the viewport).
  function scrollToEnd() {
    window.requestAnimationFrame(function () {
      window.scrollTo(0, document.documentElement.scrollHeight);
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
    if (message.chart) item.appendChild(chartFigure(message.chart));
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

  // A run chart: the picture (fetched by its random token, served from this origin) with its
  // text alternative as alt text and, visible, under the picture.
  function chartFigure(chart) {
    var figure = document.createElement("figure");
    figure.className = "chart";
    var image = document.createElement("img");
    image.src = chart.url;
    image.alt = chart.alt || "A run chart";
    image.addEventListener("load", scrollToEnd);
    var caption = document.createElement("figcaption");
    caption.textContent = chart.alt || "";
    figure.appendChild(image);
    figure.appendChild(caption);
    return figure;
  }

  function disableOldButtons() {
    Array.prototype.forEach.call(log.querySelectorAll(".buttons button"), function (b) {
      b.disabled = true;
    });
  }

  function say(payload, display) {
    if (!token) return;
    disableOldButtons();
    note = "";
    addUser(display || payload);
    pending = { id: messageId(), payload: payload, display: display || null };
    if (!socket.connected) {
      setStatus("Reconnecting… your message will be sent as soon as the connection is back.");
      return;
    }
    setStatus("qi-coach is thinking…");
    window.clearTimeout(waiting);
    waiting = window.setTimeout(function () {
      setStatus("qi-coach hasn't answered yet. Your message was sent; wait a moment, or try again.");
    }, NO_REPLY_MS);
    transmit(pending);
  }

  function transmit(message) {
    socket.emit("user_uttered", { token: token, message: message.payload, display: message.display, id: message.id });
  }

  function messageId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // A new session (the old one ended, or the person asked), with a line saying why.
  function startAfresh(why, restart) {
    var old = token;
    window.localStorage.removeItem(TOKEN_KEY);
    token = null;
    pending = null;
    log.textContent = "";
    setEnabled(false);
    pendingNote = why || "";
    setStatus(pendingNote);
    socket.emit("session_request", { token: restart ? old : null, restart: !!restart });
  }

  socket.on("connect", function () {
    setStatus("Connected. Starting your conversation…");
    socket.emit("session_request", { token: window.localStorage.getItem(TOKEN_KEY) });
  });

  var ENDED = {
    expired: "Your earlier conversation ended because it was not used for a while. This is a new one.",
    revoked: "Your earlier conversation was ended. This is a new one."
  };

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
    note = (data.ended && ENDED[data.ended]) || pendingNote;
    pendingNote = "";
    setStatus(note);
    if (pending && data.ended) pending = null;  // that conversation is over: nothing to resend
    if (pending) {
      var shown = history.length && history[history.length - 1];
      if (!shown || shown.from !== "user" || shown.text !== (pending.display || pending.payload)) {
        addUser(pending.display || pending.payload);  // not in the history yet: still on its way
      }
      setStatus("qi-coach is thinking…");
      transmit(pending);  // handled once, whether or not the server it first went to took it
    } else if (!history.length) {
      // a new conversation starts with the coach's greeting, not with a message from the user
      socket.emit("user_uttered", { token: token, message: "/greet", display: null });
    }
    input.focus();
  });

  socket.on("received", function (data) {
    if (pending && data && data.id === pending.id) pending = null;
  });

  socket.on("bot_uttered", function (message) {
    window.clearTimeout(waiting);
    setStatus(note);
    addBot(message, true);
  });

  socket.on("error_message", function (data) {
    window.clearTimeout(waiting);
    if (data && (data.reason === "expired" || data.reason === "revoked")) {
      startAfresh(ENDED[data.reason]);
      return;
    }
    setStatus(data && data.message ? data.message : "Something went wrong.");
  });

  // The session ended elsewhere: deleted from another tab, or a new conversation started there.
  socket.on("session_ended", function (data) {
    if (!token) return;
    startAfresh(data && data.reason === "deleted" ?
      "Your conversation and everything kept from it were deleted. This is a new conversation." :
      "That conversation was ended. This is a new one.");
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

  // A measure as a CSV file: read and checked on the server (POST measure, with the session
  // token), which keeps it for this conversation; then the chart is asked for in the chat.
  var MAX_UPLOAD_BYTES = 60 * 1024;
  var upload = document.getElementById("upload");
  var chooser = document.getElementById("measure-file");
  upload.addEventListener("click", function () {
    if (token) chooser.click();
  });
  chooser.addEventListener("change", function () {
    var file = chooser.files && chooser.files[0];
    chooser.value = "";
    if (!file || !token) return;
    if (file.size > MAX_UPLOAD_BYTES) {
      setStatus("That file is too big for a run chart (" + Math.round(file.size / 1024) + " KB). Up to 500 " +
                "points fit: try weekly or monthly totals.");
      return;
    }
    setStatus("Reading " + file.name + "…");
    file.text().then(function (text) {
      return fetch("measure", { method: "POST", headers: { "X-Session-Token": token, "Content-Type": "text/csv" },
                                body: text });
    }).then(function (reply) {
      return reply.json().then(function (body) { return { ok: reply.ok, body: body }; });
    }).then(function (answer) {
      if (!answer.ok) {
        setStatus(answer.body && answer.body.error ? answer.body.error : "That file could not be read.");
        return;
      }
      setStatus(note);
      say("/give_measure" + JSON.stringify({ run_chart: answer.body.token }),
          "Uploaded " + file.name + " (" + answer.body.points + " values)");
    }).catch(function () {
      setStatus("The file could not be sent just now. Try again in a moment.");
    });
  });

  newChat.addEventListener("click", function () {
    startAfresh("", true);
  });

  forget.addEventListener("click", function () {
    if (!token) return;
    if (!window.confirm("Delete this conversation and everything kept from it (your barriers, feedback " +
                        "and action plan)? This can't be undone.")) return;
    var old = token;
    token = null;  // the session_ended event from the server must not start a second session
    fetch("forget", { method: "POST", headers: { "X-Session-Token": old } }).then(function (reply) {
      if (!reply.ok) throw new Error("status " + reply.status);
      token = old;
      startAfresh("Your conversation and everything kept from it were deleted. This is a new conversation.");
    }).catch(function () {
      token = old;
      setStatus("Your data could not be deleted just now. Nothing was changed: try again in a minute.");
    });
  });

  setEnabled(false);
})();
