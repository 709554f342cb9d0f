/* scanroute dashboard: print QA reports (POST /api/v1/qr/check) and QR image fallbacks.
 *
 * SR.qa.render(target, report) shows a report: decodes or not, the decoded text, version, ECC,
 * module size, contrast, logo coverage against the ECC budget, and the minimum print width for
 * the scanning distance with the rule used. Elements with data-qa-slug check that code on load.
 */
(function () {
  "use strict";
  if (!window.SR) return;

  function item(label, value, cls) {
    const li = document.createElement("li");
    const a = document.createElement("span");
    a.textContent = label;
    const b = document.createElement("span");
    b.textContent = value;
    if (cls) b.className = cls;
    li.append(a, b);
    return li;
  }
  const num = (v, digits, unit) => (v === null || v === undefined ? "—" : Number(v).toFixed(digits) + (unit || ""));

  function render(target, r) {
    target.replaceChildren();
    const head = document.createElement("p");
    const problems = (r.problems || []).length;
    head.className = r.decodes && !problems && r.matches !== false ? "qa-ok" : "qa-bad";
    head.textContent = !r.decodes ? "✗ Does not decode — do not print this"
      : r.matches === false ? "✗ Decodes, but to different text than expected"
      : problems ? "⚠ Decodes, but fix the problem below before printing"
      : "✓ Decodes to the short link";
    head.dataset.qaResult = r.decodes ? "ok" : "fail";
    target.append(head);
    const list = document.createElement("ul");
    list.className = "qa-list";
    if (r.decoded_text) list.append(item("Decoded text", r.decoded_text));
    list.append(item("Version · modules", (r.version || "—") + " · " + (r.modules || "—")));
    list.append(item("Error correction", r.ecc || "—"));
    list.append(item("Contrast", num(r.contrast_ratio, 1, ":1"), r.contrast_ratio >= 4.5 ? "qa-ok" : "qa-bad"));
    if (r.logo_coverage) list.append(item("Logo covers", num(r.logo_coverage * 100, 0, " %") + (r.logo_budget ? " of a " + num(r.logo_budget * 100, 0, " %") + " budget" : "")));
    if (r.module_size_mm) list.append(item("Module size in print", num(r.module_size_mm, 2, " mm")));
    if (r.min_print_width_mm) list.append(item("Smallest print width" + (r.scan_distance_m ? " at " + r.scan_distance_m + " m" : ""), num(r.min_print_width_mm / 10, 1, " cm")));
    if (r.inverted) list.append(item("Colours", "inverted (light on dark)", "qa-bad"));
    if (r.captures_decoded !== null && r.captures_decoded !== undefined) list.append(item("Simulated phone captures read", String(r.captures_decoded) + " of 3"));
    target.append(list);
    if (r.rule) {
      const p = document.createElement("p");
      p.className = "small muted";
      p.textContent = "Rule: " + r.rule;
      target.append(p);
    }
    for (const [key, cls] of [["problems", "form-error"], ["warnings", "warning"]]) {
      if (r[key] && r[key].length) {
        const box = document.createElement("div");
        box.className = cls + " small";
        box.textContent = r[key].join(" · ");
        target.append(box);
      }
    }
  }

  function unavailable(target, err) {
    target.replaceChildren();
    const p = document.createElement("p");
    p.className = "muted small";
    p.textContent = err && err.status === 404 ? "Print QA is not available on this server yet."
      : err && err.status === 422 ? "No print check: the design is refused (see the reason next to the control)."
      : "Print QA failed: " + ((err && err.message) || err);
    target.append(p);
  }

  async function check(target, body) {
    try {
      render(target, await SR.api("POST", "/api/v1/qr/check", body));
    } catch (err) {
      unavailable(target, err);
    }
  }

  document.querySelectorAll("[data-qa-slug]").forEach((el) => check(el, { slug: el.dataset.qaSlug, scan_distance_m: 1 }));

  const img = document.getElementById("qr-img");
  if (img) {
    const missing = () => { img.hidden = true; const m = document.getElementById("qr-missing"); if (m) m.hidden = false; };
    img.addEventListener("error", missing);
    if (img.complete && img.naturalWidth === 0) missing();
  }

  document.addEventListener("click", async (ev) => {
    const btn = ev.target.closest("[data-copy]");
    if (!btn) return;
    try { await navigator.clipboard.writeText(btn.dataset.copy); SR.toast("Copied " + btn.dataset.copy); }
    catch (e) { window.prompt("Copy this link:", btn.dataset.copy); }
  });

  window.SR.qa = { render, check, unavailable };
})();
