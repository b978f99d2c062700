// The chat page, streamed: the form is posted to its data-stream address (same session cookie and
// CSRF token as the plain post) and the answer's server-sent events (OpenAI's chunks) are shown as
// they arrive. Without this file, or without fetch streams, the form posts and the page comes back whole.
"use strict";

(function () {
  var MAX_TURNS = 40;
  var form = document.querySelector("form[data-stream]");
  if (!form || !window.Podium || !window.fetch || !window.TextDecoder || !window.ReadableStream) return;
  var list = document.querySelector("[data-conversation]");
  var usage = document.querySelector("[data-usage]");
  var errors = document.querySelector("[data-chat-error]");
  var box = form.elements.message;
  var send = form.querySelector("button[type=submit]:not([name])");

  function turn(role, text) {
    var item = document.createElement("li");
    item.className = "turn " + role;
    item.setAttribute("data-role", role);
    var who = document.createElement("strong");
    who.textContent = role === "user" ? "You" : "Podium";
    var body = document.createElement("div");
    body.className = "text";
    body.textContent = text;
    item.appendChild(who);
    item.appendChild(body);
    list.appendChild(item);
    return item;
  }

  function sourcesOf(sources) {
    var p = document.createElement("p");
    p.className = "sources";
    p.appendChild(document.createTextNode("Sources: "));
    sources.forEach(function (source, i) {
      var ref = source[1].split("#");
      var link = document.createElement("a");
      link.href = form.getAttribute("data-source-base") + ref[0] + (ref[1] ? "#" + ref[1] : "");
      link.setAttribute("data-source", "");
      link.textContent = source[0];
      if (i) p.appendChild(document.createTextNode("; "));
      p.appendChild(link);
    });
    return p;
  }

  function showError(message) {
    if (message) window.Podium.showError(errors, message); else errors.textContent = "";
  }

  // Calls onEvent with each `data:` JSON of the stream, until it ends.
  function readEvents(reader, onEvent) {
    var decoder = new TextDecoder(), buffer = "";
    function pump() {
      return reader.read().then(function (step) {
        buffer += decoder.decode(step.value || new Uint8Array(), { stream: !step.done });
        var events = buffer.split("\n\n");
        buffer = step.done ? "" : events.pop();
        events.forEach(function (event) {
          event.split("\n").forEach(function (line) {
            var data = line.indexOf("data:") === 0 ? line.slice(5).trim() : "";
            if (data && data !== "[DONE]") onEvent(JSON.parse(data));
          });
        });
        return step.done ? null : pump();
      });
    }
    return pump();
  }

  // What a chunk adds to the reply: text, then (with finish_reason) its sources, then usage.
  function apply(event, answer, reply) {
    if (event.error) throw new Error(event.error.message);
    if (event.usage) {
      usage.textContent = "Tokens: " + event.usage.prompt_tokens + " in, " + event.usage.completion_tokens + " out.";
      usage.hidden = false;
    }
    (event.choices || []).forEach(function (choice) {
      var delta = choice.delta || {};
      if (delta.content) {
        answer.content += delta.content;
        reply.querySelector(".text").appendChild(document.createTextNode(delta.content));
      }
      if (delta.annotations && delta.annotations.length) {
        answer.sources = delta.annotations.map(function (a) { return [a.url_citation.title, a.url_citation.url]; });
        reply.appendChild(sourcesOf(answer.sources));
      }
      if (choice.finish_reason) answer.finished = true;
    });
  }

  function refused(response) {
    if (response.redirected) {  // to the login form: the session ended (logged out in another tab)
      return Promise.reject(new Error("You are no longer logged in. Log in again, then send your message."));
    }
    return response.text().then(function (text) {
      var message = null;
      try { message = JSON.parse(text).error.message; } catch (e) { /* an HTML error page */ }
      throw new Error(message || window.Podium.refusal(response.status));
    });
  }

  function remember(question, answer) {
    var turns = JSON.parse(form.elements.conversation.value || "[]");
    turns.push({ role: "user", content: question },
               { role: "assistant", content: answer.content, sources: answer.sources });
    form.elements.conversation.value = JSON.stringify(turns.slice(-MAX_TURNS));
  }

  function ask(question) {
    var data = new FormData(form);
    var answer = { content: "", sources: [], finished: false };
    var empty = list.querySelector("[data-empty]");
    if (empty) empty.remove();
    showError(null);
    var asked = turn("user", question);
    var reply = turn("assistant", "");
    reply.setAttribute("aria-busy", "true");
    box.value = "";
    send.disabled = true;
    return fetch(form.getAttribute("data-stream"), { method: "POST", body: data, credentials: "same-origin",
                                                     headers: { Accept: "text/event-stream" } })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("text/event-stream") !== 0) return refused(response);
        return readEvents(response.body.getReader(), function (event) { apply(event, answer, reply); });
      })
      .then(function () {
        if (!answer.finished) throw new Error("The answer stopped before its end. Try again.");
        remember(question, answer);
      })
      .catch(function (error) {
        asked.remove();
        reply.remove();
        box.value = question;  // nothing is lost: send it again
        showError(error instanceof TypeError && !answer.content
          ? "Podium could not be reached. Check the connection and try again." : error.message);
      })
      .then(function () {
        reply.removeAttribute("aria-busy");
        send.disabled = false;
        box.focus();
      });
  }

  form.addEventListener("submit", function (event) {
    if (event.submitter && event.submitter.name === "clear") return;  // a plain post starts afresh
    var question = box.value.trim();
    event.preventDefault();
    if (question && !send.disabled) ask(question);
  });
})();
