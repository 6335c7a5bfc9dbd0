// The citizen's chat widget. On /chat it fills <main id="cc-chat">; loaded on another site
// (<script src="https://…/chat/embed.js" async></script>) it adds a "Chat" button and panel.
// Every text from people is put in the page with textContent, never as HTML.
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script ? new URL(script.src, location.href).origin : location.origin;
  var WORDS = {
    en: {title: "Chat with us", name: "Your name (optional)", question: "Your question",
      hint: "Help articles that match appear as you type.", answered: "This answered my question",
      person: "Talk to a person", message: "Your message", send: "Send", end: "End chat",
      log: "Conversation", typing: "The agent is typing…", position: "You are number {n} in the queue.",
      queued: "Waiting for an agent.", live: "Chatting with {agent}.", ended: "The chat has ended.",
      message_case: "Leave an email address or phone number for the reply.",
      email: "Email address", phone: "Phone number", save: "Save", transcript: "Email me the transcript",
      sent: "sent", failed: "not sent, retrying", open: "Chat", close: "Close", thanks: "Glad we could help. Your reference is {ref}.",
      suggestions: "Suggested answers", reconnecting: "Connection lost, reconnecting…", newchat: "Start a new chat",
      score: "Your score", scoreOf: "{n} of 5", unreachable: "The chat cannot be reached from here right now. Please try again later.",
      trouble: "Something went wrong. Please try again."},
    zh: {title: "在线咨询", name: "您的称呼（可选）", question: "您的问题",
      hint: "输入时会显示相关的帮助文章。", answered: "这解答了我的问题",
      person: "转人工服务", message: "您的消息", send: "发送", end: "结束对话",
      log: "对话内容", typing: "工作人员正在输入…", position: "您前面还有 {n} 位（含您）。",
      queued: "正在等待工作人员。", live: "正在与{agent}对话。", ended: "对话已结束。",
      message_case: "请留下电子邮件或电话号码，以便我们答复。",
      email: "电子邮件", phone: "电话号码", save: "保存", transcript: "把对话记录发到我的邮箱",
      sent: "已发送", failed: "未发送，正在重试", open: "咨询", close: "关闭", thanks: "很高兴能帮到您。受理编号：{ref}。",
      suggestions: "推荐答案", reconnecting: "连接中断，正在重新连接…", newchat: "开始新的对话",
      score: "您的评分", scoreOf: "{n} 分（满分 5 分）", unreachable: "目前无法从此页面连接在线咨询，请稍后再试。",
      trouble: "出现问题，请重试。"}
  };
  var root = document.getElementById("cc-chat");
  var embedded = !root;
  var lang = (root && root.dataset.lang) || (document.documentElement.lang || "en").slice(0, 2);
  if (!WORDS[lang]) { lang = "en"; }
  var W = WORDS[lang];
  var KEY = "cc-chat-token:" + base;
  var token = localStorage.getItem(KEY) || "";
  var state = {status: ""};
  var seen = {};
  var lastId = 0;
  var source = null;
  var pending = [];

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function uid() { return Math.random().toString(36).slice(2) + Date.now().toString(36); }

  function api(path, body) {
    var options = {method: body === undefined ? "GET" : "POST",
      headers: {"Content-Type": "application/json", "X-Chat-Token": token}};
    if (body !== undefined) { options.body = JSON.stringify(body); }
    // lang: the server's refusals come in the widget's language even before there is a chat.
    return fetch(base + "/chat/api" + path + "?lang=" + lang, options).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) { var e = new Error(data.message || W.trouble); e.status = r.status; throw e; }
        return data;
      });
    });
  }

  // ---- the layout
  if (embedded) {
    var button = el("button", {type: "button", "aria-expanded": "false", style:
      "position:fixed;right:1rem;bottom:1rem;z-index:99999;padding:.7rem 1.1rem;border-radius:2rem;border:0;background:#0b3d5c;color:#fff;font:16px system-ui"}, W.open);
    root = el("section", {id: "cc-chat", hidden: "", style:
      "position:fixed;right:1rem;bottom:4.5rem;z-index:99999;width:min(24rem,calc(100vw - 2rem));height:min(36rem,calc(100vh - 6rem));background:#fff;box-shadow:0 4px 24px #0004;border-radius:.6rem;overflow:auto"});
    button.addEventListener("click", function () {
      var open = root.hasAttribute("hidden");
      if (open) { root.removeAttribute("hidden"); } else { root.setAttribute("hidden", ""); }
      button.setAttribute("aria-expanded", String(open));
      if (open) { focusFirst(); }
    });
    document.body.appendChild(button);
    document.body.appendChild(root);
  }
  var css = el("style", {}, "#cc-chat{font:16px/1.4 system-ui,sans-serif;color:#1d1d1f;box-sizing:border-box;padding:.8rem;max-width:40rem;margin:0 auto}" +
    "#cc-chat label{display:block;font-weight:600;margin:.5rem 0 .2rem}#cc-chat input,#cc-chat textarea{width:100%;box-sizing:border-box;font:inherit;padding:.5rem}" +
    "#cc-chat button{font:inherit;padding:.5rem .9rem;margin:.3rem .3rem 0 0}#cc-chat .log{list-style:none;padding:0;margin:.5rem 0;max-height:50vh;overflow:auto}" +
    "#cc-chat .log li{margin:.3rem 0;padding:.4rem .6rem;border-radius:.5rem;background:#eef3f7;white-space:pre-wrap;overflow-wrap:anywhere}" +
    "#cc-chat .log li.citizen{background:#dff0d8;margin-left:2rem}#cc-chat .log li.system{background:none;font-style:italic;color:#555}" +
    "#cc-chat .who{display:block;font-size:.8em;color:#555}#cc-chat .tick{font-size:.75em;color:#555;margin-left:.4rem}" +
    "#cc-chat .article{border:1px solid #ccd;border-radius:.4rem;padding:.5rem;margin:.4rem 0}#cc-chat [hidden]{display:none}" +
    "#cc-chat .log li.survey{background:#fff6d6}#cc-chat .cc-score button{min-width:2.6rem}");
  root.appendChild(css);
  root.setAttribute("lang", lang === "zh" ? "zh-Hans" : "en");
  root.appendChild(el("h1", {style: "font-size:1.3rem;margin:.2rem 0"}, W.title));
  var status = el("p", {id: "cc-status", role: "status", "aria-live": "polite"});
  root.appendChild(status);

  var ask = el("form", {id: "cc-ask"});
  ask.appendChild(el("label", {"for": "cc-name"}, W.name));
  var nameInput = el("input", {id: "cc-name", autocomplete: "name", maxlength: "80"});
  ask.appendChild(nameInput);
  ask.appendChild(el("label", {"for": "cc-question"}, W.question));
  var question = el("textarea", {id: "cc-question", rows: "3", "aria-describedby": "cc-hint"});
  ask.appendChild(question);
  ask.appendChild(el("p", {id: "cc-hint"}, W.hint));
  var suggestions = el("section", {id: "cc-suggestions", "aria-live": "polite", "aria-label": W.suggestions});
  ask.appendChild(suggestions);
  var personButton = el("button", {type: "submit", id: "cc-person"}, W.person);
  ask.appendChild(personButton);
  root.appendChild(ask);

  var talk = el("section", {id: "cc-talk", hidden: ""});
  talk.appendChild(el("h2", {style: "font-size:1.05rem", id: "cc-log-title"}, W.log));
  var log = el("ol", {"class": "log", id: "cc-log", "aria-live": "polite", "aria-labelledby": "cc-log-title"});
  talk.appendChild(log);
  var typing = el("p", {id: "cc-typing", hidden: "", "aria-live": "polite"}, W.typing);
  talk.appendChild(typing);
  var send = el("form", {id: "cc-send"});
  send.appendChild(el("label", {"for": "cc-message"}, W.message));
  var message = el("textarea", {id: "cc-message", rows: "2"});
  send.appendChild(message);
  send.appendChild(el("button", {type: "submit", id: "cc-send-button"}, W.send));
  var endButton = el("button", {type: "button", id: "cc-end"}, W.end);
  send.appendChild(endButton);
  talk.appendChild(send);

  var contact = el("form", {id: "cc-contact", hidden: ""});
  contact.appendChild(el("p", {}, W.message_case));
  contact.appendChild(el("label", {"for": "cc-email"}, W.email));
  var emailInput = el("input", {id: "cc-email", type: "email", autocomplete: "email"});
  contact.appendChild(emailInput);
  contact.appendChild(el("label", {"for": "cc-phone"}, W.phone));
  var phoneInput = el("input", {id: "cc-phone", type: "tel", autocomplete: "tel"});
  contact.appendChild(phoneInput);
  contact.appendChild(el("button", {type: "submit"}, W.save));
  talk.appendChild(contact);

  var transcript = el("form", {id: "cc-transcript"});
  transcript.appendChild(el("label", {"for": "cc-transcript-email"}, W.email));
  var transcriptEmail = el("input", {id: "cc-transcript-email", type: "email", autocomplete: "email"});
  transcript.appendChild(transcriptEmail);
  transcript.appendChild(el("button", {type: "submit"}, W.transcript));
  talk.appendChild(transcript);
  var restart = el("button", {type: "button", id: "cc-new", hidden: ""}, W.newchat);
  talk.appendChild(restart);
  root.appendChild(talk);

  function focusFirst() { (talk.hidden ? question : message).focus(); }
  function say(text) { status.textContent = text; }
  // A refused origin or a network failure reaches the page as a TypeError with no message
  // meant for people.
  function error(e) { say(e instanceof TypeError ? W.unreachable : (e.message || String(e))); }

  // ---- lines and state
  function addLine(line) {
    if (seen[line.id]) { return; }
    seen[line.id] = true;
    lastId = Math.max(lastId, line.id);
    var mine = pending.filter(function (p) { return p.client_id === line.client_id; })[0];
    var item = mine ? mine.node : el("li", {});
    item.className = line.author;
    item.textContent = "";
    if (line.author !== "system") { item.appendChild(el("span", {"class": "who"}, line.name || (line.author === "citizen" ? (lang === "zh" ? "您" : "You") : ""))); }
    item.appendChild(document.createTextNode(line.text));
    if (line.author === "survey") { item.appendChild(scoreButtons(line.client_id.slice(7))); }
    if (line.client_id.indexOf("scored-") === 0) { answered(); }
    if (line.author === "citizen") { item.appendChild(el("span", {"class": "tick"}, "✓ " + W.sent)); }
    if (mine) { pending = pending.filter(function (p) { return p !== mine; }); }
    else { log.appendChild(item); }
    log.scrollTop = log.scrollHeight;
  }
  // The satisfaction question at the end of the chat: five buttons, the first click counts.
  function scoreButtons(surveyToken) {
    var group = el("div", {role: "group", "class": "cc-score", "aria-label": W.score});
    [1, 2, 3, 4, 5].forEach(function (n) {
      var b = el("button", {type: "button", "data-score": String(n), "aria-label": W.scoreOf.replace("{n}", n)}, String(n));
      b.addEventListener("click", function () {
        api("/survey", {token: surveyToken, score: n}).then(function (d) { addLine(d.line); }).catch(error);
      });
      group.appendChild(b);
    });
    return group;
  }
  function answered() {
    Array.prototype.forEach.call(log.querySelectorAll(".cc-score button"), function (b) { b.disabled = true; });
  }
  function listening(s) { return s.status !== "ended" || !!s.awaiting_survey; }
  // "The agent is typing…" shows for the seconds the state says the signal has left (5 s after
  // the last one) and then goes by itself: no later state may come to hide it (the stream of an
  // ended chat closes, a connection drops).
  var typingTimer = null;
  function showTyping(seconds) {
    clearTimeout(typingTimer);
    typing.hidden = !(seconds > 0);
    if (seconds > 0) { typingTimer = setTimeout(function () { typing.hidden = true; }, seconds * 1000); }
  }
  function showState(s) {
    var fresh = s !== state;  // the state shown again on a reconnect keeps its typing timer
    state = s;
    var handed = s.status && s.status !== "self_service";
    ask.hidden = !!handed;
    talk.hidden = !handed;
    contact.hidden = s.status !== "message" || !!s.contact;
    send.hidden = s.status === "ended";
    restart.hidden = s.status !== "ended";
    if (s.status !== "live") { showTyping(0); }
    else if (fresh) { showTyping(s.agent_typing ? (s.agent_typing_seconds || 5) : 0); }
    if (s.status === "queued") { say(s.position ? W.position.replace("{n}", s.position) : W.queued); }
    else if (s.status === "live") { say(W.live.replace("{agent}", s.agent)); }
    else if (s.status === "ended") { say(W.ended); }
    else if (s.status === "message") { say(W.message_case); }
  }
  // The ids of the lines shown last: a reconnect gets any line numbered below lastId that
  // committed late (PostgreSQL) without being sent again what is already here.
  function recentIds() {
    return Object.keys(seen).map(Number).sort(function (a, b) { return b - a; }).slice(0, 100).join(",");
  }
  function connect() {
    if (source) { source.close(); }
    source = new EventSource(base + "/chat/api/events?lang=" + lang + "&token=" + encodeURIComponent(token) + "&after=" + lastId + "&have=" + recentIds());
    source.addEventListener("line", function (e) { addLine(JSON.parse(e.data)); });
    source.addEventListener("state", function (e) { showState(JSON.parse(e.data)); });
    source.onopen = function () { showState(state); resendPending(); };
    // The server ends the stream of an ended chat after its last lines (closing it here on
    // the final state would drop the lines sent right behind it).
    source.onerror = function () {
      if (!listening(state)) { source.close(); source = null; return; }
      say(W.reconnecting);
      // Reconnect ourselves (not EventSource's retry) so the request says what is here now.
      var gone = source;
      gone.close();
      setTimeout(function () {
        if (source === gone) { connect(); }
        resendPending();
      }, 1000);
    };
  }
  function load() {
    return api("/history").then(function (data) {
      data.lines.forEach(addLine);
      showState(data.state);
      if (data.state.status !== "self_service" && listening(data.state)) { connect(); }
    });
  }
  function start() {
    return api("/sessions", {language: lang, name: nameInput.value}).then(function (data) {
      token = data.token;
      localStorage.setItem(KEY, token);
      showState(data.state);
    });
  }
  // One session however many requests need it at once (a suggestion lookup and the hand-over
  // can both start before the first answer comes back).
  var starting = null;
  function ensureSession() {
    if (token) { return Promise.resolve(); }
    if (!starting) { starting = start().then(function () { starting = null; }, function (e) { starting = null; throw e; }); }
    return starting;
  }

  // ---- self-service suggestions
  var timer = null;
  question.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var text = question.value;
      if (text.trim().length < 3) { suggestions.textContent = ""; return; }
      ensureSession().then(function () { return api("/suggest", {text: text}); }).then(function (data) {
        suggestions.textContent = "";
        if (data.articles.length) { suggestions.appendChild(el("h2", {style: "font-size:1rem"}, W.suggestions)); }
        data.articles.forEach(function (a) {
          var box = el("article", {"class": "article"});
          box.appendChild(el("h3", {style: "font-size:1rem;margin:0"}, a.title));
          box.appendChild(el("p", {}, a.short_answer));
          var link = el("a", {href: base + a.url, target: "_blank", rel: "noopener"}, a.title);
          box.appendChild(link);
          var yes = el("button", {type: "button", "class": "cc-answered"}, W.answered);
          yes.addEventListener("click", function () {
            api("/answered", {question: question.value, slug: a.slug, language: a.language}).then(function (d) {
              showState(d.state);
              say(W.thanks.replace("{ref}", d.reference));
              return load();
            }).catch(error);
          });
          box.appendChild(yes);
          suggestions.appendChild(box);
        });
      }).catch(error);
    }, 250);
  });
  ask.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!question.value.trim()) { question.focus(); return; }
    ensureSession().then(function () {
      return api("/handover", {text: question.value, client_id: uid()});
    }).then(function (data) {
      showState(data.state);
      return load();
    }).then(function () { message.focus(); }).catch(error);
  });

  // ---- the conversation
  function deliver(p) {
    return api("/messages", {text: p.text, client_id: p.client_id}).then(function (data) {
      addLine(data.line);
    }).catch(function (e) {
      if (e.status && e.status < 500) { p.node.remove(); pending = pending.filter(function (x) { return x !== p; }); error(e); }
      else { p.tick.textContent = "… " + W.failed; }
    });
  }
  function resendPending() { pending.forEach(deliver); }
  send.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = message.value;
    if (!text.trim()) { return; }
    var node = el("li", {"class": "citizen"});
    node.appendChild(document.createTextNode(text));
    var tick = el("span", {"class": "tick"}, "…");
    node.appendChild(tick);
    log.appendChild(node);
    var p = {client_id: uid(), text: text, node: node, tick: tick};
    pending.push(p);
    message.value = "";
    deliver(p);
  });
  message.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send.requestSubmit(); }
  });
  var lastTyping = 0;
  message.addEventListener("input", function () {
    if (Date.now() - lastTyping > 2000) { lastTyping = Date.now(); api("/typing", {}).catch(function () {}); }
  });
  endButton.addEventListener("click", function () { api("/end", {}).then(function (d) { showState(d.state); }).catch(error); });
  contact.addEventListener("submit", function (e) {
    e.preventDefault();
    api("/contact", {email: emailInput.value, phone: phoneInput.value}).then(function (d) { showState(d.state); }).catch(error);
  });
  transcript.addEventListener("submit", function (e) {
    e.preventDefault();
    api("/transcript", {email: transcriptEmail.value}).then(function (d) { say(d.message); }).catch(error);
  });
  restart.addEventListener("click", function () {
    localStorage.removeItem(KEY); token = ""; log.textContent = ""; seen = {}; lastId = 0;
    question.value = ""; suggestions.textContent = ""; showState({status: "self_service"}); question.focus();
  });

  window.addEventListener("online", function () {
    if (token && listening(state) && state.status !== "self_service" && (!source || source.readyState === EventSource.CLOSED)) { connect(); }
  });

  if (token) {
    load().catch(function (e) {
      if (e.status === 401 || e.status === 404) { localStorage.removeItem(KEY); token = ""; showState({status: "self_service"}); }
      error(e);
    });
  }
})();
