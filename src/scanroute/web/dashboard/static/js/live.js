/* scanroute dashboard: the live feed (EventSource on /api/v1/live: "scan" and "conversion").
 * Keeps the newest 200 entries; bots are shown greyed (or hidden); the browser reconnects by
 * itself after a network break, and the state line says so.
 */
(function () {
  "use strict";
  const feed = document.getElementById("feed");
  if (!feed || !window.SR || !window.EventSource) return;
  const names = SR.readJson("live-data") || { codes: {}, campaigns: {} };
  const state = document.getElementById("live-state");
  const showBots = document.getElementById("live-bots");
  const pause = document.getElementById("live-pause");
  const counters = { scans: 0, bots: 0, conversions: 0 };
  let paused = false;
  const held = [];

  function text(tag, value, cls) { const el = document.createElement(tag); el.textContent = value; if (cls) el.className = cls; return el; }
  function count(id, n) { document.getElementById(id).textContent = SR.fmt.count(n); }

  function scanLine(d) {
    const where = [d.city, d.country].filter(Boolean).join(", ") || "unknown place";
    const what = [d.device, d.os, d.browser].filter(Boolean).join(" · ");
    const code = d.slug || names.codes[d.code_id] || "?";
    const li = document.createElement("li");
    if (d.bot) li.classList.add("bot");
    li.dataset.kind = "scan";
    li.dataset.slug = code;
    const body = text("span", "");
    const a = document.createElement("a");
    a.href = "/app/codes/" + encodeURIComponent(code);
    a.className = "mono";
    a.textContent = code;
    body.append(a, document.createTextNode(" — " + what + " from " + where + (d.variant ? " · variant " + d.variant : "") + (d.returning ? " · returning" : "") + (d.bot ? " · " + (d.bot_kind || "bot") + " (not counted)" : "") + (d.outcome && d.outcome !== "redirect" ? " · " + d.outcome : "")));
    li.append(text("span", SR.fmt.time(d.ts), "small"), text("span", d.bot ? "bot scan" : "scan", "kind"), body);
    return li;
  }

  function conversionLine(d) {
    const li = document.createElement("li");
    li.dataset.kind = "conversion";
    const value = d.value != null ? SR.fmt.money(d.value, d.currency) + " " : "";
    const campaign = d.campaign_id ? names.campaigns[d.campaign_id] || "campaign " + d.campaign_id : "unattributed";
    li.append(text("span", SR.fmt.time(d.occurred_at || d.created_at || new Date().toISOString()), "small"), text("span", d.type || "conversion", "kind conversion"), text("span", value + "· " + campaign + (d.order_id ? " · order " + d.order_id : "")));
    return li;
  }

  function add(li) {
    const empty = document.getElementById("feed-empty");
    if (empty) empty.remove();
    li.classList.add("fresh");
    if (li.classList.contains("bot") && !showBots.checked) li.hidden = true;
    feed.prepend(li);
    while (feed.children.length > 200) feed.lastElementChild.remove();
  }

  function handle(kind, data) {
    if (kind === "scan") {
      if (data.bot) count("live-bots-count", ++counters.bots); else count("live-scans", ++counters.scans);
    } else count("live-conversions", ++counters.conversions);
    const li = kind === "scan" ? scanLine(data) : conversionLine(data);
    if (paused) { held.push(li); pause.textContent = "Resume (" + held.length + " waiting)"; } else add(li);
  }

  const source = new EventSource(feed.dataset.liveSrc, { withCredentials: true });
  source.addEventListener("open", () => { state.textContent = "● Connected"; state.className = "small qa-ok"; });
  source.addEventListener("error", () => { state.textContent = "Reconnecting…"; state.className = "small qa-bad"; });
  for (const kind of ["scan", "conversion"]) {
    source.addEventListener(kind, (ev) => { try { handle(kind, JSON.parse(ev.data)); } catch (e) { /* a malformed event is skipped */ } });
  }
  showBots.addEventListener("change", () => feed.querySelectorAll("li.bot").forEach((li) => { li.hidden = !showBots.checked; }));
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.setAttribute("aria-pressed", String(paused));
    pause.textContent = paused ? "Resume (" + held.length + " waiting)" : "Pause";
    if (!paused) held.splice(0).forEach(add);
  });
  window.addEventListener("beforeunload", () => source.close());
})();
