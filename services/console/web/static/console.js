// Switchboard console: local times, live countdowns, and live updates over SSE. No build step.
(function () {
  "use strict";
  var body = document.body;

  function pad(n) { return n < 10 ? "0" + n : "" + n; }

  function human(seconds) {
    var s = Math.abs(Math.round(seconds));
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + pad(s % 60) + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h " + pad(Math.floor((s % 3600) / 60)) + "m";
    return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
  }

  var fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  var timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

  function relative(date) {
    var ago = (Date.now() - date.getTime()) / 1000;
    if (ago < 45) return "just now";
    if (ago < 3600) return Math.round(ago / 60) + " min ago";
    var sameDay = new Date().toDateString() === date.toDateString();
    return sameDay ? timeFormat.format(date) : fullFormat.format(date);
  }

  // Times arrive as ISO UTC; show them in the viewer's own zone.
  function formatTimes(root) {
    root.querySelectorAll("time.ts[datetime]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) return;
      el.title = fullFormat.format(date) + " (" + Intl.DateTimeFormat().resolvedOptions().timeZone + ")";
      el.textContent = el.classList.contains("relative") ? relative(date) : fullFormat.format(date);
    });
    root.querySelectorAll(".duration[data-seconds]").forEach(function (el) {
      var raw = el.getAttribute("data-seconds");
      if (raw === "") { el.textContent = "—"; return; }
      var seconds = Number(raw);
      if (!isNaN(seconds)) el.textContent = seconds < 0 ? "overdue " + human(seconds) : human(seconds);
    });
  }

  // Each SLA pill counts down to its deadline; a running clock whose deadline passes turns breached
  // at once (the SLA service's breach event then confirms it).
  function tickCountdowns() {
    var now = Date.now();
    document.querySelectorAll(".sla[data-deadline]").forEach(function (el) {
      var state = el.getAttribute("data-state");
      var raw = el.getAttribute("data-deadline");
      if (state === "paused") { el.textContent = "paused"; return; }
      if (!raw) return;
      var left = (new Date(raw).getTime() - now) / 1000;
      if (left < 0 && state !== "breached") {
        state = "breached";
        el.setAttribute("data-state", state);
        el.className = "sla sla-breached";
      }
      el.textContent = left < 0 ? "breached · overdue " + human(left) : human(left) + " left";
    });
  }

  function replaceParts(html, eventConversation) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    doc.querySelectorAll("[data-part]").forEach(function (fresh) {
      var name = fresh.getAttribute("data-part");
      var current = document.querySelector('[data-part="' + name + '"]');
      if (!current) return;
      current.innerHTML = fresh.innerHTML;
      formatTimes(current);
      if (eventConversation) {
        current.querySelectorAll('[data-conversation="' + eventConversation + '"]').forEach(function (row) {
          row.classList.add("flash-row");
        });
      }
    });
    var count = document.getElementById("row-count");
    if (count) count.textContent = document.querySelectorAll("#rows tr.row").length + " shown";
    tickCountdowns();
  }

  var pending = null;
  var inFlight = false;
  var live = { events: 0, refreshes: 0, connected: false };
  window.switchboardLive = live;

  function refresh(eventConversation) {
    var url = body.getAttribute("data-fragment");
    if (!url) return;
    if (pending) clearTimeout(pending);
    pending = setTimeout(function () {  // coalesce bursts of events into one re-fetch
      pending = null;
      if (inFlight) { refresh(eventConversation); return; }
      inFlight = true;
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) { replaceParts(html, eventConversation); live.refreshes += 1; })
        .catch(function () { /* the next event or reconnect retries */ })
        .then(function () { inFlight = false; });
    }, 120);
  }

  function connect() {
    var mode = body.getAttribute("data-live");
    if (!mode || !window.EventSource) return;
    var status = document.getElementById("live-status");
    var source = new EventSource("/events");
    source.onopen = function () {
      live.connected = true;
      if (status) { status.hidden = false; status.className = "live-status"; status.textContent = "live"; }
    };
    source.onerror = function () {
      live.connected = false;
      if (status) { status.className = "live-status off"; status.textContent = "reconnecting"; }
    };
    source.addEventListener("activity", function (message) {
      var event = JSON.parse(message.data);
      live.events += 1;
      if (event.kind === "resync") { refresh(null); return; }
      if (mode === "conversation" && event.conversation_id !== body.getAttribute("data-conversation")) return;
      refresh(event.conversation_id);
    });
  }

  // Presence buttons: set it through the JSON API and show the new one at once (no reload). Without
  // script, or if the API call fails, the plain form post does the same.
  function showPresence(form, value) {
    form.querySelectorAll("button[name=presence]").forEach(function (button) {
      var current = button.value === value;
      button.setAttribute("aria-pressed", current ? "true" : "false");
      button.title = current ? "You are " + value : "Set yourself " + button.value;
    });
  }

  function wirePresence() {
    var form = document.querySelector("form.presence");
    if (!form || !window.fetch) return;
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || !button.value) return;
      event.preventDefault();
      var token = form.querySelector("input[name=csrf_token]").value;
      fetch("/api/v1/me/presence", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
        body: JSON.stringify({ presence: button.value })
      }).then(function (r) {
        if (!r.ok) return Promise.reject(r.status);
        showPresence(form, button.value);
      }).catch(function () {
        var field = document.createElement("input");
        field.type = "hidden"; field.name = "presence"; field.value = button.value;
        form.appendChild(field);
        form.submit();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    wirePresence();
    formatTimes(document);
    tickCountdowns();
    setInterval(tickCountdowns, 1000);
    setInterval(function () { formatTimes(document); }, 30000);
    connect();
  });
})();
