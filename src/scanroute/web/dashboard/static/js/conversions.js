/* scanroute dashboard: the POS import (POST /api/v1/conversions/import).
 *
 * Reads the CSV's header in the browser to offer its columns for each field (with a guess from
 * the column names), sends the file with the mapping as a dry run ("Check the file") or for real
 * ("Import"), and shows the per-row report: matched, unmatched, duplicate, invalid.
 */
(function () {
  "use strict";
  const form = document.getElementById("pos-import");
  if (!form || !window.SR) return;
  const GUESS = {
    order_id: ["order_id", "order", "order id", "receipt", "transaction", "bon", "ticket"],
    occurred_at: ["occurred_at", "time", "date", "datetime", "timestamp", "created", "when"],
    value: ["value", "amount", "total", "sum", "price", "revenue", "gross"],
    currency: ["currency", "cur", "ccy"],
    coupon_code: ["coupon_code", "coupon", "voucher", "promo", "code"],
    scan_id: ["scan_id", "sr_sid", "sid", "scan"],
    external_id: ["external_id", "customer", "member", "loyalty", "customer_id"],
    store: ["store", "shop", "location", "placement", "branch"],
    type: ["type", "kind"],
  };
  const fileInput = form.elements.file;
  const mapping = document.getElementById("pos-mapping");
  const report = document.getElementById("pos-report");
  let submitter = null;

  function header(text) {
    const line = text.replace(/^\uFEFF/, "").split(/\r?\n/)[0] || "";
    const cells = [];
    let cur = "", quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i];
      if (quoted) {
        if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; }
        else if (ch === '"') quoted = false;
        else cur += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === "," || ch === ";") { cells.push(cur.trim()); cur = ""; }
      else cur += ch;
    }
    cells.push(cur.trim());
    return cells.filter(Boolean);
  }

  fileInput.addEventListener("change", async () => {
    report.replaceChildren();
    const file = fileInput.files[0];
    if (!file) { mapping.hidden = true; return; }
    const columns = header(await file.slice(0, 64 * 1024).text());
    const used = new Set();
    form.querySelectorAll("[data-map]").forEach((sel) => {
      const field = sel.dataset.map;
      sel.replaceChildren(new Option("—", ""), ...columns.map((c) => new Option(c, c)));
      const guess = columns.find((c) => !used.has(c) && GUESS[field].includes(c.toLowerCase().replace(/\s+/g, "_")))
        || columns.find((c) => !used.has(c) && GUESS[field].some((g) => c.toLowerCase().includes(g)));
      if (guess) { sel.value = guess; used.add(guess); }
    });
    mapping.hidden = false;
  });

  form.addEventListener("click", (ev) => { const b = ev.target.closest("button[data-dry-run]"); if (b) submitter = b; });

  function cell(tag, text, cls) { const el = document.createElement(tag); el.textContent = text == null ? "" : String(text); if (cls) el.className = cls; return el; }

  function show(out) {
    const parts = [];
    const head = cell("p", out.message, out.imported ? "notice" : out.dry_run ? "" : "warning");
    head.dataset.importResult = out.imported ? "imported" : out.dry_run ? "checked" : "refused";
    parts.push(head);
    parts.push(cell("p", Object.entries(out.counts || {}).map(([k, v]) => k + ": " + v).join(" · "), "small"));
    const table = document.createElement("table");
    const thead = table.createTHead().insertRow();
    for (const t of ["Line", "Status", "Order", "Reason"]) { const th = cell("th", t); th.scope = "col"; thead.append(th); }
    const body = table.createTBody();
    for (const r of out.rows || []) {
      const tr = body.insertRow();
      tr.append(cell("td", r.line), cell("td", r.status, r.status === "matched" ? "qa-ok" : r.status === "invalid" ? "qa-bad" : ""), cell("td", r.order_id || "—"), cell("td", r.reason || ""));
    }
    const wrap = cell("div", "", "table-wrap");
    wrap.append(table);
    parts.push(wrap);
    if (out.imported) {
      const again = cell("button", "Show the new figures", "btn secondary");
      again.type = "button";
      again.addEventListener("click", () => location.reload());
      parts.push(again);
    }
    report.replaceChildren(...parts);
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    SR.clearErrors(form);
    const button = ev.submitter || submitter;
    const dry = !button || button.dataset.dryRun !== "false";
    const file = fileInput.files[0];
    if (!file) { SR.showErrors(form, new SR.ApiError(422, { title: "Invalid input", errors: [{ field: "file", reason: "choose the till's CSV file first" }] })); return; }
    const map = {};
    form.querySelectorAll("[data-map]").forEach((sel) => { if (sel.value) map[sel.dataset.map] = sel.value; });
    const fd = new FormData();
    fd.append("file", file);
    fd.append("mapping", JSON.stringify(map));
    if (form.elements.currency.value.trim()) fd.append("currency", form.elements.currency.value.trim());
    fd.append("type", form.elements.type.value.trim() || "purchase");
    fd.append("dry_run", dry ? "true" : "false");
    SR.busy(form, true);
    report.replaceChildren(cell("p", dry ? "Checking the file…" : "Importing…", "muted"));
    try {
      show(await SR.upload("/api/v1/conversions/import", fd));
    } catch (err) {
      report.replaceChildren();
      if (err instanceof SR.ApiError) SR.showErrors(form, err); else SR.toast(String(err), true);
    } finally {
      SR.busy(form, false);
      submitter = null;
    }
  });
})();
