/* scanroute dashboard: the rule builder and the simulator on a code's page.
 *
 * The builder edits the code's routing-rules document (DESIGN.md §3) as a list of rules; each rule
 * has conditions (every one must hold), and a target: one URL or weighted variants. Rules move
 * with "Move up"/"Move down" buttons (keyboard operable). Saving PATCHes /api/v1/codes/{slug}
 * with {"rules": [...]}; a problem+json error names the field (rules[2].when.time.from) and is
 * shown next to that control. Parts of a rule the builder does not edit (app deep links,
 * allocation) are kept as they are; "Edit as JSON" edits the whole document.
 */
(function () {
  "use strict";
  const root = document.getElementById("rule-builder");
  if (!root || !window.SR) return;
  const editor = SR.readJson(root.dataset.source) || { rules: [] };
  const canEdit = !!editor.can_edit;
  let rules = JSON.parse(JSON.stringify(editor.rules || []));

  const KINDS = {
    device: { label: "Device", type: "choices", choices: [["mobile", "Phone"], ["tablet", "Tablet"], ["desktop", "Desktop"]] },
    os: { label: "Operating system", type: "list", hint: "e.g. iOS, Android" },
    browser: { label: "Browser", type: "list", hint: "e.g. Mobile Safari, Chrome Mobile" },
    language: { label: "Language", type: "list", hint: "e.g. de, fr-BE" },
    country: { label: "Country", type: "list", hint: "two letters, e.g. DE, AT, CH" },
    region: { label: "Region", type: "list", hint: "e.g. Bavaria" },
    city: { label: "City", type: "list", hint: "e.g. Berlin" },
    ip: { label: "IP address or network", type: "list", hint: "e.g. 203.0.113.0/24" },
    days: { label: "Days of the week", type: "choices", choices: [["mon", "Mon"], ["tue", "Tue"], ["wed", "Wed"], ["thu", "Thu"], ["fri", "Fri"], ["sat", "Sat"], ["sun", "Sun"]] },
    time: { label: "Time of day", type: "range", input: "time" },
    dates: { label: "Dates", type: "range", input: "date" },
    visitor: { label: "Visitor", type: "select", choices: [["first", "First scan"], ["returning", "Returning visitor"]] },
    nth_scan: { label: "Visitor's scan number", type: "minmax" },
    query: { label: "Query parameter", type: "query", hint: "name=value, or name (present), or !name (absent)" },
  };

  function initial(kind) {
    const type = KINDS[kind].type;
    if (type === "list" || type === "choices") return [];
    if (type === "select") return KINDS[kind].choices[0][0];
    return {};
  }

  let seq = 0;
  const uid = (p) => p + "-" + (++seq);

  function h(tag, attrs, children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of [].concat(children || [])) if (c) el.append(c);
    return el;
  }

  function field(labelText, control, hint) {
    const id = control.id || uid("f");
    control.id = id;
    const parts = [h("label", { for: id, text: labelText }), control];
    if (hint) {
      const hid = uid("hint");
      control.setAttribute("aria-describedby", hid);
      parts.push(h("p", { class: "hint", id: hid, text: hint }));
    }
    return h("div", { class: "field" }, parts);
  }

  const asList = (v) => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
  const listText = (v) => asList(v).join(", ");
  const parseList = (s) => s.split(",").map((x) => x.trim()).filter(Boolean);

  function queryText(q) {
    return Object.entries(q || {}).map(([k, v]) => (v === true ? k : v === false ? "!" + k : k + "=" + asList(v).join("|"))).join(", ");
  }
  function parseQuery(s) {
    const out = {};
    for (const part of parseList(s)) {
      if (part.startsWith("!")) out[part.slice(1)] = false;
      else if (part.includes("=")) { const [k, v] = part.split(/=(.*)/s); out[k.trim()] = v.includes("|") ? v.split("|") : v; }
      else out[part] = true;
    }
    return out;
  }

  /* ---- one condition ------------------------------------------------------------------------ */
  function conditionEditor(rule, i, kind) {
    const spec = KINDS[kind];
    const path = "rules[" + i + "].when." + kind;
    const value = rule.when[kind];
    const set = (v) => { rule.when[kind] = v; };
    const ro = !canEdit;
    if (spec.type === "list") {
      const input = h("input", { type: "text", value: listText(value), "data-field": path, disabled: ro, oninput: (e) => set(parseList(e.target.value)) });
      return field(spec.label + " is any of", input, spec.hint);
    }
    if (spec.type === "query") {
      const input = h("input", { type: "text", value: queryText(value), "data-field": path, disabled: ro, oninput: (e) => set(parseQuery(e.target.value)) });
      return field("Query parameters", input, spec.hint);
    }
    if (spec.type === "select") {
      const sel = h("select", { "data-field": path, disabled: ro, onchange: (e) => set(e.target.value) },
        spec.choices.map(([v, l]) => h("option", { value: v, selected: asList(value)[0] === v, text: l })));
      if (value === undefined) set(spec.choices[0][0]);
      return field(spec.label, sel);
    }
    if (spec.type === "choices") {
      const chosen = new Set(asList(value));
      const boxes = spec.choices.map(([v, l]) => {
        const id = uid("c");
        const cb = h("input", { type: "checkbox", id, value: v, checked: chosen.has(v), disabled: ro, onchange: (e) => {
          if (e.target.checked) chosen.add(v); else chosen.delete(v);
          set(spec.choices.map((c) => c[0]).filter((c) => chosen.has(c)));
        } });
        return h("span", { class: "inline" }, [cb, h("label", { for: id, text: l })]);
      });
      return h("fieldset", { "data-field": path, tabindex: "-1" }, [h("legend", { text: spec.label + " (any of)" }), h("div", { class: "inline" }, boxes)]);
    }
    if (spec.type === "range") {
      const v = value || {};
      if (!value) set(v);
      const from = h("input", { type: spec.input, value: v.from || "", "data-field": path + ".from", disabled: ro, oninput: (e) => { if (e.target.value) v.from = e.target.value; else delete v.from; } });
      const to = h("input", { type: spec.input, value: v.to || "", "data-field": path + ".to", disabled: ro, oninput: (e) => { if (e.target.value) v.to = e.target.value; else delete v.to; } });
      const note = spec.input === "time" ? "in " + editor.timezone + "; may cross midnight (22:00 to 02:00)" : "both days included";
      return h("div", { class: "row", "data-field": path }, [field(spec.label + " from", from), field("to", to, note)]);
    }
    if (spec.type === "minmax") {
      const v = value || {};
      if (!value) set(v);
      const num = (key) => h("input", { type: "number", min: "1", value: v[key] || "", "data-field": path + "." + key, disabled: ro, oninput: (e) => {
        const n = parseInt(e.target.value, 10);
        if (n > 0) v[key] = n; else delete v[key];
      } });
      return h("div", { class: "row", "data-field": path }, [field("From scan number", num("min")), field("to scan number", num("max"), "the visitor's earlier scans of this code, plus one")]);
    }
    return h("p", { text: kind });
  }

  /* ---- one rule ----------------------------------------------------------------------------- */
  function ruleItem(rule, i) {
    rule.when = rule.when || {};
    const n = i + 1;
    const title = rule.name ? "rule " + n + " (" + rule.name + ")" : "rule " + n;
    const head = h("div", { class: "rule-head" }, [
      h("span", { class: "rule-num", text: "#" + n }),
      field("Name", h("input", { type: "text", value: rule.name || "", maxlength: "200", "data-field": "rules[" + i + "].name", disabled: !canEdit, placeholder: "e.g. Happy hour", oninput: (e) => { if (e.target.value.trim()) rule.name = e.target.value; else delete rule.name; } })),
      canEdit && h("div", { class: "actions" }, [
        h("button", { type: "button", class: "btn secondary small", "data-move": "up", "aria-label": "Move " + title + " up", disabled: i === 0, onclick: () => move(i, -1, "up"), text: "↑ Up" }),
        h("button", { type: "button", class: "btn secondary small", "data-move": "down", "aria-label": "Move " + title + " down", disabled: i === rules.length - 1, onclick: () => move(i, 1, "down"), text: "↓ Down" }),
        h("button", { type: "button", class: "btn ghost small", "aria-label": "Remove " + title, onclick: () => { rules.splice(i, 1); render(); focusAdd(); }, text: "Remove" }),
      ]),
    ]);

    const conds = Object.keys(rule.when).filter((k) => KINDS[k]);
    const condList = h("div", { class: "conds", "data-field": "rules[" + i + "].when", tabindex: "-1" });
    if (!conds.length) condList.append(h("p", { class: "muted small", text: "No condition: every scan that reaches this rule matches." }));
    conds.forEach((kind) => {
      condList.append(h("div", { class: "cond" }, [
        conditionEditor(rule, i, kind),
        canEdit && h("button", { type: "button", class: "btn ghost small", "aria-label": "Remove the " + KINDS[kind].label.toLowerCase() + " condition of " + title, onclick: () => { delete rule.when[kind]; render("[data-rule='" + i + "'] [data-add-condition]"); }, text: "Remove" }),
      ]));
    });
    let adder = null;
    if (canEdit) {
      const unused = Object.keys(KINDS).filter((k) => !(k in rule.when));
      const sel = h("select", { "aria-label": "Condition to add to " + title }, unused.map((k) => h("option", { value: k, text: KINDS[k].label })));
      adder = h("div", { class: "inline" }, [sel, h("button", { type: "button", class: "btn secondary small", "data-add-condition": String(i), onclick: () => {
        const k = sel.value;
        rule.when[k] = initial(k);
        const at = "[data-rule='" + i + "'] [data-field^='rules[" + i + "].when." + k + "']";
        render(at + " input", at + " select", at);
      }, text: "Add condition" })]);
      if (!unused.length) adder = null;
    }
    return h("li", { class: "rule", "data-rule": String(i) }, [head, h("h3", { class: "rule-when", text: "When" }), condList, adder, targetEditor(rule, i, title), capEditor(rule, i)]);
  }

  function targetEditor(rule, i, title) {
    const path = "rules[" + i + "]";
    if (rule.app && !rule.variants && !rule.to) {
      return h("p", { class: "muted small", text: "Target: opens an app (deep link). Edit it with “Edit as JSON”." });
    }
    const mode = rule.variants ? "split" : "one";
    const name = uid("mode");
    const radio = (value, text) => {
      const id = uid("r");
      return h("span", { class: "inline" }, [h("input", { type: "radio", id, name, value, checked: mode === value, disabled: !canEdit, onchange: () => {
        if (value === "split") { rule.variants = [{ to: rule.to || "", weight: 50 }, { to: "", weight: 50 }]; delete rule.to; }
        else { rule.to = (rule.variants && rule.variants[0] && rule.variants[0].to) || ""; delete rule.variants; }
        render("[data-rule='" + i + "'] input[name='" + name + "']:checked");
      } }), h("label", { for: id, text })]);
    };
    const box = h("fieldset", { "data-field": path, tabindex: "-1" }, [h("legend", { text: "Then send the scan to" }), h("div", { class: "inline" }, [radio("one", "one URL"), radio("split", "several URLs by weight (A/B)")])]);
    if (mode === "one") {
      box.append(field("URL", h("input", { type: "url", value: rule.to || "", required: true, "data-field": path + ".to", disabled: !canEdit, placeholder: "https://example.com/offer", oninput: (e) => { rule.to = e.target.value.trim(); } })));
      return box;
    }
    const total = () => rule.variants.reduce((s, v) => s + (Number(v.weight) || 0), 0);
    const shares = [];
    rule.variants.forEach((v, j) => {
      const vp = path + ".variants[" + j + "]";
      const share = h("span", { class: "small muted" });
      shares.push([share, v]);
      box.append(h("div", { class: "variant" }, [
        field("Variant " + (j + 1) + " URL", h("input", { type: "url", value: v.to || "", "data-field": vp + ".to", disabled: !canEdit, oninput: (e) => { v.to = e.target.value.trim(); } })),
        field("Weight", h("input", { type: "number", min: "1", step: "any", value: v.weight, "data-field": vp + ".weight", disabled: !canEdit, oninput: (e) => { v.weight = Number(e.target.value); updateShares(); } })),
        field("Label", h("input", { type: "text", value: v.label || "", maxlength: "200", "data-field": vp + ".label", disabled: !canEdit, placeholder: "e.g. A", oninput: (e) => { if (e.target.value.trim()) v.label = e.target.value.trim(); else delete v.label; } })),
        h("div", { class: "field" }, [share, canEdit && rule.variants.length > 1 && h("button", { type: "button", class: "btn ghost small", "aria-label": "Remove variant " + (j + 1) + " of " + title, onclick: () => { rule.variants.splice(j, 1); render("[data-field='" + path + ".variants[0].to']"); }, text: "Remove" })]),
      ]));
    });
    function updateShares() { const t = total(); shares.forEach(([el, v]) => { el.textContent = t ? Math.round((100 * (Number(v.weight) || 0)) / t) + " % of scans" : ""; }); }
    updateShares();
    if (canEdit) box.append(h("button", { type: "button", class: "btn secondary small", onclick: () => { rule.variants.push({ to: "", weight: 50 }); render("[data-field='" + path + ".variants[" + (rule.variants.length - 1) + "].to']"); }, text: "Add variant" }));
    box.append(h("p", { class: "hint", text: "A visitor keeps seeing the same variant." }));
    return box;
  }

  function capEditor(rule, i) {
    const input = h("input", { type: "number", min: "1", value: rule.cap || "", "data-field": "rules[" + i + "].cap", disabled: !canEdit, oninput: (e) => { const n = parseInt(e.target.value, 10); if (n > 0) rule.cap = n; else delete rule.cap; } });
    return h("div", { class: "row" }, [field("Stop after this many scans (optional)", input, "then scans fall through to the next rule")]);
  }

  /* ---- list, moving, saving ----------------------------------------------------------------- */
  function move(i, delta, dir) {
    const j = i + delta;
    if (j < 0 || j >= rules.length) return;
    [rules[i], rules[j]] = [rules[j], rules[i]];
    render("[data-rule='" + j + "'] [data-move='" + dir + "']:not([disabled])", "[data-rule='" + j + "'] [data-move]:not([disabled])");
    SR.toast("Rule moved to position " + (j + 1));
  }

  function focusAdd() { const b = root.querySelector("[data-add-rule]"); if (b) b.focus(); }

  const status = h("p", { class: "small muted", role: "status", "aria-live": "polite" });
  const list = h("ol", { class: "rules", "aria-label": "Rules in order" });
  const json = h("textarea", { class: "mono", rows: "12", "aria-label": "Rules as JSON", disabled: !canEdit });
  const form = h("form", { novalidate: true });

  /* Re-draw the list; then focus the first element found by the selectors, tried in order. */
  function render(...selectors) {
    list.replaceChildren(...rules.map(ruleItem));
    if (!rules.length) list.append(h("li", { class: "empty" }, [h("p", { text: "No rules: every scan goes to the destination" + (editor.destination ? " " + editor.destination : "") + "." }), h("p", { text: canEdit ? "Add a rule to send, say, iPhones to the App Store or evenings to the happy-hour page." : "" })]));
    json.value = JSON.stringify(rules, null, 2);
    for (const selector of selectors) {
      const el = selector && root.querySelector(selector);
      if (el) { el.focus(); break; }
    }
  }

  async function save(ev) {
    ev.preventDefault();
    SR.clearErrors(form);
    const btn = form.querySelector("[data-save]");
    SR.busy(btn, true);
    status.textContent = "Saving…";
    try {
      const clean = JSON.parse(JSON.stringify(rules));
      const code = await SR.api("PATCH", "/api/v1/codes/" + encodeURIComponent(editor.slug), { rules: clean });
      rules = code.rules || clean;
      render();
      status.textContent = "Saved: version " + code.version + ", " + rules.length + " rule" + (rules.length === 1 ? "" : "s") + ". Scans use it right away.";
      SR.toast("Rules saved");
    } catch (err) {
      status.textContent = "Not saved.";
      if (err instanceof SR.ApiError) SR.showErrors(form, err); else SR.toast(String(err), true);
    } finally {
      SR.busy(btn, false);
    }
  }

  form.addEventListener("submit", save);
  form.append(list);
  if (canEdit) {
    form.append(h("div", { class: "actions" }, [
      h("button", { type: "button", class: "btn secondary", "data-add-rule": "", onclick: () => {
        rules.push({ name: "", when: {}, to: "" });
        delete rules[rules.length - 1].name;
        render("[data-rule='" + (rules.length - 1) + "'] input");
      }, text: "Add rule" }),
      h("button", { type: "submit", class: "btn", "data-save": "", text: "Save rules" }),
    ]));
  } else {
    form.append(h("p", { class: "muted small", text: "Your role can look at the rules but not change them." }));
  }
  form.append(status);
  const details = h("details", {}, [h("summary", { text: "Edit as JSON" }), json,
    canEdit && h("button", { type: "button", class: "btn secondary small", onclick: () => {
      try { rules = JSON.parse(json.value || "[]"); if (!Array.isArray(rules)) throw new Error("the document must be a list of rules"); render(); SR.toast("JSON applied; save to keep it"); }
      catch (e) { SR.toast("Not valid JSON: " + e.message, true); }
    }, text: "Apply JSON" })]);
  form.append(details);
  root.replaceChildren(form);
  render();

  /* ---- simulator ---------------------------------------------------------------------------- */
  const sim = document.getElementById("simulator");
  if (!sim) return;
  const tz = sim.dataset.timezone || "UTC";
  const daySel = sim.querySelector("#s-day");
  const names = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  const todayLocal = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
  const base = new Date(todayLocal + "T12:00:00Z");
  for (let k = 0; k < 7; k++) {
    const d = new Date(base.getTime() + k * 86400000);
    const iso = d.toISOString().slice(0, 10);
    daySel.append(h("option", { value: iso, text: (k === 0 ? "Today, " : "") + names[d.getUTCDay()] + " " + iso }));
  }
  // Preselect the coming Saturday: the example everybody tries first.
  [...daySel.options].forEach((o) => { if (o.text.includes("Saturday")) o.selected = true; });

  /* Offset of `tz` at a wall-clock time, via Intl (no time-zone library needed). */
  function zonedIso(dateIso, time) {
    const guess = new Date(dateIso + "T" + time + ":00Z");
    const parts = new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }).formatToParts(guess);
    const get = (t) => Number(parts.find((p) => p.type === t).value);
    const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"));
    const offsetMin = Math.round((asUtc - guess.getTime()) / 60000);
    const sign = offsetMin >= 0 ? "+" : "-";
    const abs = Math.abs(offsetMin);
    return dateIso + "T" + time + ":00" + sign + String(Math.floor(abs / 60)).padStart(2, "0") + ":" + String(abs % 60).padStart(2, "0");
  }

  sim.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    SR.clearErrors(sim);
    const f = sim.elements;
    const body = { device: f.device.value, visitor: f.visitor.value, prior_scans: Number(f.prior_scans.value || 0), at: zonedIso(f.day.value, f.time.value || "12:00") };
    if (f.os.value) body.os = f.os.value;
    if (f.country.value.trim()) body.country = f.country.value.trim();
    if (f.language.value.trim()) body.language = f.language.value.trim();
    const out = document.getElementById("sim-result");
    const btn = sim.querySelector("button[type=submit]");
    SR.busy(btn, true);
    try {
      const r = await SR.api("POST", "/api/v1/codes/" + encodeURIComponent(sim.dataset.slug) + "/simulate", body);
      const who = [body.country, body.os || "", f.device.options[f.device.selectedIndex].text.toLowerCase()].filter(Boolean).join(" ");
      const dayName = f.day.options[f.day.selectedIndex].text.replace(/^Today, /, "");
      const why = r.rule_index === null || r.rule_index === undefined ? "no rule matched, so the default destination" : "rule " + (r.rule_index + 1) + (r.rule_name ? " “" + r.rule_name + "”" : "") + (r.variant ? ", variant " + r.variant : "");
      out.replaceChildren(
        h("p", {}, [h("strong", { text: "A " + who + " visitor (" + (body.language || "any language") + ") at " + f.time.value + " on " + dayName + " goes to:" })]),
        h("p", {}, [h("a", { href: r.destination, class: "mono", rel: "noopener", "data-sim-destination": "", text: r.destination })]),
        h("p", { class: "small", text: "Why: " + why + ". Local time " + r.local_time + "." + (r.broken_rules && r.broken_rules.length ? " Skipped broken rules: " + r.broken_rules.map((x) => x + 1).join(", ") + "." : "") }),
      );
      out.hidden = false;
    } catch (err) {
      if (err instanceof SR.ApiError) SR.showErrors(sim, err); else SR.toast(String(err), true);
    } finally {
      SR.busy(btn, false);
    }
  });
})();
