/* scanroute dashboard: shared helpers.
 *
 * - SR.api(method, path, body): JSON calls to /api/v1 with the session cookie and CSRF header;
 *   problem+json answers become SR.ApiError (status, title, detail, errors[{field, reason}]).
 * - <form data-api="POST /api/v1/codes" data-then="go:/app/codes/{slug}">: serialised to JSON,
 *   sent with SR.api; errors are shown inline next to the control they name, others on top.
 * - <button data-api-delete="/api/v1/…" data-confirm="…" data-then="…">: a DELETE.
 * - <form data-autosubmit>: submits when one of its selects changes.
 * No inline script anywhere (the Content-Security-Policy forbids it); pages pass data through
 * data-* attributes and <script type="application/json"> blocks read with SR.readJson(id).
 */
(function () {
  "use strict";
  const body = document.body;
  const csrf = body.dataset.csrf || "";
  const currency = body.dataset.currency || "USD";

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || "HTTP " + status);
      this.status = status;
      this.problem = problem || {};
      this.errors = (problem && problem.errors) || [];
    }
  }

  async function api(method, path, payload, options) {
    const headers = { Accept: "application/json, application/problem+json" };
    if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrf;
    let data;
    if (payload instanceof FormData) data = payload;
    else if (payload !== undefined) {
      headers["Content-Type"] = "application/json";
      data = JSON.stringify(payload);
    }
    const res = await fetch(path, { method, headers, body: data, credentials: "same-origin" });
    if (res.status === 401) {
      location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
      throw new ApiError(401, { title: "Signed out", detail: "the session has ended; sign in again" });
    }
    if (!res.ok) {
      let problem;
      try { problem = await res.json(); } catch (e) { problem = { title: res.statusText, detail: "HTTP " + res.status }; }
      throw new ApiError(res.status, problem);
    }
    if (options && options.raw) return res;
    if (res.status === 204) return null;
    const type = res.headers.get("content-type") || "";
    return type.includes("json") ? res.json() : res;
  }

  /* ---- inline errors ---------------------------------------------------------------------- */
  function clearErrors(root) {
    root.querySelectorAll(".field-error[data-generated]").forEach((el) => el.remove());
    root.querySelectorAll("[aria-invalid=true]").forEach((el) => {
      el.removeAttribute("aria-invalid");
      const ids = (el.getAttribute("aria-describedby") || "").split(" ").filter((id) => !id.startsWith("err-"));
      if (ids.length) el.setAttribute("aria-describedby", ids.join(" ")); else el.removeAttribute("aria-describedby");
    });
    const top = root.querySelector(".form-error[data-generated]");
    if (top) top.remove();
  }

  function findControl(root, field) {
    if (!field) return null;
    const esc = window.CSS && CSS.escape ? CSS.escape(field) : field;
    let el = root.querySelector('[data-field="' + esc + '"]') || root.querySelector('[name="' + esc + '"]');
    // "rules[2].when.time.from" may be shown on "rules[2].when.time": walk up the path
    let path = field;
    while (!el && /[.[]/.test(path)) {
      path = path.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
      const e2 = window.CSS && CSS.escape ? CSS.escape(path) : path;
      el = root.querySelector('[data-field="' + e2 + '"]') || root.querySelector('[name="' + e2 + '"]');
    }
    return el;
  }

  let errorSeq = 0;
  function showErrors(root, err) {
    clearErrors(root);
    const general = [];
    let first = null;
    for (const item of err.errors || []) {
      const control = findControl(root, item.field);
      if (!control) { general.push((item.field ? item.field + ": " : "") + item.reason); continue; }
      const id = "err-" + (++errorSeq);
      const msg = document.createElement("p");
      msg.className = "field-error";
      msg.id = id;
      msg.dataset.generated = "1";
      msg.textContent = (control.dataset.field && control.dataset.field !== item.field ? item.field + ": " : "") + item.reason;
      const holder = control.closest(".field") || control.parentElement;
      holder.appendChild(msg);
      control.setAttribute("aria-invalid", "true");
      control.setAttribute("aria-describedby", ((control.getAttribute("aria-describedby") || "") + " " + id).trim());
      if (!first) first = control;
    }
    if (!(err.errors || []).length) general.push(err.message);
    if (general.length) {
      const box = document.createElement("div");
      box.className = "form-error";
      box.setAttribute("role", "alert");
      box.dataset.generated = "1";
      const title = err.problem && err.problem.title ? err.problem.title + ": " : "";
      box.textContent = title + general.join("; ");
      root.prepend(box);
      if (!first) first = box;
    }
    if (first && first.focus) {
      if (!first.hasAttribute("tabindex") && first.classList.contains("form-error")) first.setAttribute("tabindex", "-1");
      first.focus();
    }
  }

  /* ---- form serialisation ----------------------------------------------------------------- */
  function setPath(target, name, value) {
    const parts = name.split(".");
    let obj = target;
    for (let i = 0; i < parts.length - 1; i++) obj = obj[parts[i]] = obj[parts[i]] || {};
    obj[parts[parts.length - 1]] = value;
  }

  function convert(el) {
    const kind = el.dataset.type || (el.type === "number" ? "number" : "");
    if (el.type === "checkbox") return kind === "list" ? (el.checked ? el.value : undefined) : el.checked;
    const raw = el.value.trim();
    if (raw === "") return el.hasAttribute("data-null") ? null : undefined;
    if (kind === "number") return Number(raw);
    if (kind === "json") { try { return JSON.parse(raw); } catch (e) { return raw; } }
    if (kind === "list") return raw.split(",").map((s) => s.trim()).filter(Boolean);
    return raw;
  }

  function formJson(form) {
    const out = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled || el.name === "csrf_token" || el.dataset.skip !== undefined) continue;
      if (el.type === "radio" && !el.checked) continue;
      if (el.type === "file" || el.type === "submit" || el.type === "button") continue;
      const value = convert(el);
      if (value === undefined) continue;
      if (el.type === "checkbox" && el.dataset.type === "list") {
        const list = (out[el.name] = out[el.name] || []);
        list.push(value);
        continue;
      }
      setPath(out, el.name, value);
    }
    return out;
  }

  /* ---- feedback --------------------------------------------------------------------------- */
  let toastTimer = null;
  function toast(message, isError) {
    const el = document.getElementById("toast");
    if (!el) return;
    el.textContent = message;
    el.classList.toggle("error", !!isError);
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.hidden = true; }, isError ? 8000 : 3500);
  }

  function busy(el, on) {
    const buttons = el.matches("button") ? [el] : el.querySelectorAll("button[type=submit], button:not([type])");
    buttons.forEach((b) => {
      b.disabled = on;
      if (on) b.setAttribute("aria-busy", "true"); else b.removeAttribute("aria-busy");
    });
  }

  function fill(template, data) {
    return template.replace(/\{(\w+)\}/g, (_, key) => encodeURIComponent(data && data[key] != null ? data[key] : ""));
  }

  function after(el, data) {
    const then = el.dataset.then || "";
    if (then === "reload") { sessionStorage.setItem("sr-toast", el.dataset.success || "Saved"); location.reload(); return; }
    if (then.startsWith("go:")) { sessionStorage.setItem("sr-toast", el.dataset.success || "Saved"); location.href = fill(then.slice(3), data); return; }
    if (then.startsWith("event:")) el.dispatchEvent(new CustomEvent(then.slice(6), { bubbles: true, detail: data }));
    toast(el.dataset.success || "Saved");
  }

  document.addEventListener("submit", async (ev) => {
    const form = ev.target.closest("form[data-api]");
    if (!form) return;
    ev.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const [method, path] = form.dataset.api.split(" ");
    busy(form, true);
    clearErrors(form);
    try {
      const data = await api(method, path, method === "DELETE" ? undefined : formJson(form));
      after(form, data);
    } catch (err) {
      if (err instanceof ApiError) showErrors(form, err); else toast(String(err), true);
    } finally {
      busy(form, false);
    }
  });

  document.addEventListener("click", async (ev) => {
    const btn = ev.target.closest("[data-api-delete]");
    if (!btn) return;
    ev.preventDefault();
    if (btn.dataset.confirm && !window.confirm(btn.dataset.confirm)) return;
    busy(btn, true);
    try {
      await api("DELETE", btn.dataset.apiDelete);
      after(btn, {});
    } catch (err) {
      toast(err.message || String(err), true);
    } finally {
      busy(btn, false);
    }
  });

  document.addEventListener("change", (ev) => {
    const form = ev.target.closest("form[data-autosubmit]");
    if (form && ev.target.matches("select")) form.requestSubmit();
  });

  /* ---- formatting ------------------------------------------------------------------------- */
  const nf = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
  const nf1 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
  const fmt = {
    count: (v) => (v == null ? "—" : Math.abs(v - Math.round(v)) > 1e-9 ? nf1.format(v) : nf.format(v)),
    money: (v, cur) => {
      if (v == null || v === "") return "—";
      try { return new Intl.NumberFormat(undefined, { style: "currency", currency: cur || currency }).format(Number(v)); }
      catch (e) { return (cur || currency) + " " + Number(v).toFixed(2); }
    },
    percent: (v) => (v == null ? "—" : nf1.format(v * 100) + " %"),
    time: (iso) => { const d = new Date(iso); return isNaN(d) ? iso : d.toLocaleTimeString(); },
  };

  function readJson(id) {
    const el = document.getElementById(id);
    if (!el) return null;
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  /* Upload with progress (fetch has no upload progress): resolves with the parsed JSON answer. */
  function upload(path, formData, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", path);
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.setRequestHeader("Accept", "application/json, application/problem+json");
      xhr.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total); };
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = { title: xhr.statusText, detail: xhr.responseText.slice(0, 200) }; }
        if (xhr.status >= 200 && xhr.status < 300) resolve(data); else reject(new ApiError(xhr.status, data));
      };
      xhr.onerror = () => reject(new ApiError(0, { title: "Network error", detail: "the upload did not reach the server" }));
      xhr.send(formData);
    });
  }

  /* Bulk selection on the codes list. */
  function bulkCount(form) {
    const n = form.querySelectorAll('input[name="slug"]:checked').length;
    const out = form.querySelector("[data-bulk-count]");
    if (out) out.textContent = n + " selected";
    const btn = form.querySelector("[data-bulk-submit]");
    if (btn) btn.disabled = n === 0;
  }
  document.addEventListener("change", (ev) => {
    const form = ev.target.closest("form#bulk");
    if (!form) return;
    if (ev.target.matches("[data-select-all]")) {
      form.querySelectorAll('input[name="slug"]').forEach((cb) => { cb.checked = ev.target.checked; });
    }
    bulkCount(form);
  });
  document.addEventListener("submit", (ev) => {
    const form = ev.target.closest("form#bulk");
    if (!form) return;
    const action = form.querySelector("#bulk-action");
    const n = form.querySelectorAll('input[name="slug"]:checked').length;
    if (action && action.value === "delete" && !window.confirm("Delete " + n + " code(s)? Printed copies will stop working.")) ev.preventDefault();
  });
  const bulkForm = document.querySelector("form#bulk");
  if (bulkForm) { bulkCount(bulkForm); document.addEventListener("htmx:afterSwap", () => bulkCount(bulkForm)); }

  /* Bars: widths come from data-pct (inline style attributes are refused by the CSP). */
  function sizeBars(root) {
    (root || document).querySelectorAll("[data-pct]").forEach((el) => { el.style.width = Math.max(0, Math.min(100, Number(el.dataset.pct))) + "%"; });
  }
  sizeBars(document);
  document.addEventListener("htmx:afterSwap", (ev) => sizeBars(ev.target));

  const pending = sessionStorage.getItem("sr-toast");
  if (pending) { sessionStorage.removeItem("sr-toast"); document.addEventListener("DOMContentLoaded", () => toast(pending)); }

  window.SR = { sizeBars, api, ApiError, showErrors, clearErrors, formJson, toast, fmt, readJson, busy, upload, currency, csrf };
})();
