// The agent's chats: waiting chats to take, live chats to answer. Citizen text is only ever
// put in the page with textContent.
(function () {
  "use strict";
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var waiting = document.getElementById("chat-waiting");
  var mine = document.getElementById("chat-mine");
  var status = document.getElementById("chat-status");
  var panes = {};
  var seen = {};
  var lastId = 0;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function uid() { return Math.random().toString(36).slice(2) + Date.now().toString(36); }
  function post(path, body) {
    return fetch("/board/chats" + path, {method: "POST", headers: {"Content-Type": "application/json",
      "X-CSRFToken": csrf}, body: JSON.stringify(body || {})}).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (d) {
        if (!r.ok) { throw new Error(d.message || r.statusText); } return d;
      });
    });
  }
  function say(text) { status.textContent = text; }

  function pane(chat) {
    if (panes[chat.id]) { return panes[chat.id]; }
    var box = el("section", {"class": "chat", "data-session": chat.id, "aria-label": "Chat with " + (chat.name || "citizen")});
    box.appendChild(el("h3", {}, (chat.name || "Citizen") + " · " + chat.reference));
    var log = el("ol", {"aria-live": "polite"});
    box.appendChild(log);
    var typing = el("p", {hidden: ""}, "The citizen is typing…");
    box.appendChild(typing);
    var form = el("form", {});
    var id = "reply-" + chat.id;
    form.appendChild(el("label", {"for": id}, "Reply"));
    var text = el("textarea", {id: id, rows: "2"});
    form.appendChild(text);
    form.appendChild(el("button", {type: "submit"}, "Send"));
    var end = el("button", {type: "button"}, "End chat");
    form.appendChild(end);
    box.appendChild(form);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!text.value.trim()) { return; }
      var value = text.value;
      text.value = "";
      post("/" + chat.id + "/messages", {text: value, client_id: uid()}).then(function (d) { addLine(d.line); })
        .catch(function (err) { text.value = value; say(err.message); });
    });
    text.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
    });
    var last = 0;
    text.addEventListener("input", function () {
      if (Date.now() - last > 2000) { last = Date.now(); post("/" + chat.id + "/typing").catch(function () {}); }
    });
    end.addEventListener("click", function () { post("/" + chat.id + "/end").then(refresh).catch(function (err) { say(err.message); }); });
    mine.appendChild(box);
    panes[chat.id] = {box: box, log: log, typing: typing, text: text, typingTimer: null};
    return panes[chat.id];
  }
  function addLine(line) {
    if (seen[line.id]) { return; }
    var p = panes[line.session];
    if (!p) { return; }
    seen[line.id] = true;
    lastId = Math.max(lastId, line.id);
    var item = el("li", {"class": line.author});
    if (line.author !== "system") { item.appendChild(el("span", {"class": "who"}, line.name || line.author)); }
    item.appendChild(document.createTextNode(line.text));
    p.log.appendChild(item);
    p.log.scrollTop = p.log.scrollHeight;
  }
  // "The citizen is typing…" shows for the seconds the state says the signal has left (5 s
  // after the last one) and then goes by itself, whether or not another state comes.
  function showTyping(p, seconds) {
    clearTimeout(p.typingTimer);
    p.typing.hidden = !(seconds > 0);
    if (seconds > 0) { p.typingTimer = setTimeout(function () { p.typing.hidden = true; }, seconds * 1000); }
  }
  function showState(s) {
    document.getElementById("chat-capacity").textContent = s.mine.length + " of " + s.capacity;
    waiting.textContent = "";
    if (!s.waiting.length) { waiting.appendChild(el("li", {}, "No chat is waiting.")); }
    s.waiting.forEach(function (chat) {
      var item = el("li", {});
      item.appendChild(el("strong", {}, chat.name || "Citizen"));
      item.appendChild(document.createTextNode(" (" + chat.reference + ", " + chat.department + "): " + chat.question + " "));
      if (chat.cannot_take) {
        item.appendChild(el("em", {"class": "cannot-take"}, "Not for you: " + chat.cannot_take + "."));
      } else {
        var take = el("button", {type: "button", "class": "take"}, "Take chat");
        take.addEventListener("click", function () {
          post("/" + chat.id + "/take").then(refresh).catch(function (err) { say(err.message); });
        });
        item.appendChild(take);
      }
      waiting.appendChild(item);
    });
    var live = {};
    s.mine.forEach(function (chat) {
      live[chat.id] = true;
      showTyping(pane(chat), chat.citizen_typing ? (chat.citizen_typing_seconds || 5) : 0);
    });
    Object.keys(panes).forEach(function (id) {
      if (!live[id]) { showTyping(panes[id], 0); panes[id].box.remove(); delete panes[id]; }
    });
  }
  function refresh() {
    return fetch("/board/chats/state").then(function (r) { return r.json(); }).then(function (s) {
      showState(s);
      s.lines.forEach(addLine);
    });
  }
  var source = null;
  // The ids shown last: a reconnect gets lines numbered below lastId that committed late
  // (PostgreSQL), and not again the ones already here.
  function recentIds() {
    return Object.keys(seen).map(Number).sort(function (a, b) { return b - a; }).slice(0, 300).join(",");
  }
  function connect() {
    if (source) { source.close(); }
    source = new EventSource("/board/chats/events?after=" + lastId + "&have=" + recentIds());
    source.addEventListener("state", function (e) { showState(JSON.parse(e.data)); });
    source.addEventListener("line", function (e) { addLine(JSON.parse(e.data)); });
    source.onopen = function () { say(""); };
    source.onerror = function () {
      say("Connection lost, reconnecting…");
      var gone = source;
      gone.close();  // reconnect ourselves, so the request says what is here now
      setTimeout(function () { if (source === gone) { connect(); } }, 1000);
    };
  }
  refresh().then(connect);
})();
