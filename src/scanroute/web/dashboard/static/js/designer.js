/* scanroute dashboard: the QR designer.
 *
 * Every change re-renders the preview (POST /api/v1/qr/preview, SVG) and re-runs the print check
 * (POST /api/v1/qr/check) after a short pause; answers to stale requests are dropped. A design
 * the server refuses (contrast too low, logo too large for the ECC level …) is shown inline next
 * to the control its problem names. Saving PATCHes the code's design or creates a template.
 */
(function () {
  "use strict";
  const form = document.getElementById("designer");
  if (!form || !window.SR) return;
  const initial = SR.readJson("designer-data") || {};
  const img = document.getElementById("preview");
  const qa = document.getElementById("designer-qa");
  const status = document.getElementById("designer-status");
  const busy = document.getElementById("preview-busy");
  const el = (name) => form.elements[name];
  let seq = 0;
  let timer = null;
  let lastUrl = null;

  function apply(design) {
    const d = design || {};
    const set = (name, value) => { if (value !== undefined && value !== null && el(name)) el(name).value = value; };
    set("dark", d.dark);
    set("light", d.light && d.light !== "transparent" ? d.light : undefined);
    el("transparent").checked = d.light === "transparent";
    set("eye_color", d.eye_color || d.dark);
    set("module_shape", d.module_shape);
    set("eye_shape", d.eye_shape);
    set("ecc", d.ecc);
    set("quiet_zone", d.quiet_zone);
    set("frame", d.frame);
    set("caption", d.caption);
    set("frame_color", d.frame_color);
    set("logo_scale", d.logo_scale);
    if (d.logo && d.logo.ref) set("logo", String(d.logo.ref));
    showScale();
  }

  function design() {
    const d = {
      dark: el("dark").value,
      light: el("transparent").checked ? "transparent" : el("light").value,
      eye_color: el("eye_color").value,
      module_shape: el("module_shape").value,
      eye_shape: el("eye_shape").value,
      ecc: el("ecc").value,
      quiet_zone: Number(el("quiet_zone").value || 4),
      frame: el("frame").value,
    };
    const caption = el("caption").value.trim();
    if (caption) d.caption = caption;
    if (d.frame !== "none") d.frame_color = el("frame_color").value;
    if (el("logo").value) { d.logo = { ref: el("logo").value }; d.logo_scale = Number(el("logo_scale").value); }
    return d;
  }

  function content() {
    const slug = el("slug").value;
    return slug ? { slug } : {};
  }

  function showScale() {
    const out = document.getElementById("d-logo-scale-out");
    if (out) out.textContent = Math.round(Number(el("logo_scale").value) * 100) + " %";
  }

  async function refresh() {
    const mine = ++seq;
    SR.clearErrors(form);
    busy.hidden = false;
    const d = design();
    // settled at once, so that a refusal is never an unhandled rejection while the preview loads
    const check = SR.api("POST", "/api/v1/qr/check", Object.assign(content(), {
      design: d,
      print_width_mm: Number(el("print_width_mm").value) || undefined,
      scan_distance_m: Number(el("scan_distance_m").value) || 1,
    })).then((report) => ({ report }), (error) => ({ error }));
    try {
      const res = await SR.api("POST", "/api/v1/qr/preview", Object.assign(content(), { design: d, format: "svg" }), { raw: true });
      const blob = await res.blob();
      if (mine !== seq) return;
      if (lastUrl) URL.revokeObjectURL(lastUrl);
      lastUrl = URL.createObjectURL(blob);
      img.src = lastUrl;
      img.dataset.rendered = String(mine);
      status.textContent = "";
    } catch (err) {
      if (mine !== seq) return;
      if (err instanceof SR.ApiError) {
        SR.showErrors(form, err);
        status.textContent = "This design cannot be rendered: " + err.message;
      } else SR.toast(String(err), true);
    } finally {
      if (mine === seq) busy.hidden = true;
    }
    const outcome = await check;
    if (mine !== seq) return;
    if (outcome.error) SR.qa.unavailable(qa, outcome.error); else SR.qa.render(qa, outcome.report);
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  }

  form.addEventListener("input", (ev) => {
    if (ev.target.id === "d-logo-scale") showScale();
    if (ev.target.id === "d-template-name" || ev.target.type === "file") return;
    later();
  });
  form.addEventListener("change", (ev) => {
    if (ev.target.id === "d-slug") { location.href = "/app/qr" + (ev.target.value ? "?slug=" + encodeURIComponent(ev.target.value) : ""); return; }
    if (ev.target.id === "d-template") {
      const t = (initial.templates || []).find((x) => String(x.id) === ev.target.value);
      if (t) { apply(t.design); later(); }
      return;
    }
    if (ev.target.id === "d-logo-file") { uploadLogo(ev.target); return; }
    later();
  });
  form.addEventListener("submit", (ev) => ev.preventDefault());

  async function uploadLogo(input) {
    if (!input.files || !input.files[0]) return;
    const fd = new FormData();
    fd.append("file", input.files[0]);
    status.textContent = "Uploading the logo…";
    try {
      const logo = await SR.upload("/api/v1/logos", fd);
      const sel = el("logo");
      if (![...sel.options].some((o) => o.value === String(logo.id))) sel.append(new Option(logo.name, String(logo.id)));
      sel.value = String(logo.id);
      if (el("ecc").value === "L" || el("ecc").value === "M") el("ecc").value = "H";
      status.textContent = "Logo uploaded; error correction raised to H so the code still reads.";
      later();
    } catch (err) {
      if (err instanceof SR.ApiError) SR.showErrors(form, err); else SR.toast(String(err), true);
      status.textContent = "";
    } finally {
      input.value = "";
    }
  }

  const saveDesign = form.querySelector("[data-save-design]");
  if (saveDesign) saveDesign.addEventListener("click", async () => {
    const slug = el("slug").value;
    if (!slug) return;
    SR.busy(saveDesign, true);
    try {
      await SR.api("PATCH", "/api/v1/codes/" + encodeURIComponent(slug), { design: design() });
      status.textContent = "Saved as the design of " + slug + ". Downloads use it from now on.";
      SR.toast("Design saved");
    } catch (err) {
      if (err instanceof SR.ApiError) SR.showErrors(form, err); else SR.toast(String(err), true);
    } finally {
      SR.busy(saveDesign, false);
    }
  });

  const saveTemplate = form.querySelector("[data-save-template]");
  if (saveTemplate) saveTemplate.addEventListener("click", async () => {
    const name = document.getElementById("d-template-name");
    SR.busy(saveTemplate, true);
    try {
      const t = await SR.api("POST", "/api/v1/qr/templates", { name: name.value.trim(), design: design() });
      (initial.templates = initial.templates || []).push(t);
      document.getElementById("d-template").append(new Option(t.name, String(t.id)));
      status.textContent = "Template “" + t.name + "” saved; apply it to codes or print runs.";
      SR.toast("Template saved");
    } catch (err) {
      if (err instanceof SR.ApiError) SR.showErrors(form, err); else SR.toast(String(err), true);
    } finally {
      SR.busy(saveTemplate, false);
    }
  });

  apply(initial.design);
  refresh();
})();
