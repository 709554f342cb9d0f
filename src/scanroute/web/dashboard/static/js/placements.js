/* scanroute dashboard: the placements map and bulk print runs.
 *
 * Map: country shapes from world-atlas (installed from npm, served by this server) drawn as SVG
 * in an equirectangular projection, zoomed to the placements; one circle per placement, its area
 * proportional to scans. No tile server is needed, so it works offline.
 * Print run: POST /api/v1/bulk/upload (multipart, with upload progress), then GET /api/v1/jobs/{id}
 * every second until the ZIP and the label PDF are ready to download.
 */
(function () {
  "use strict";
  if (!window.SR) return;
  const SVG = "http://www.w3.org/2000/svg";

  function svg(tag, attrs) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    return el;
  }

  async function drawMap(box) {
    const points = SR.readJson(box.dataset.source) || [];
    if (!points.length || !window.topojson) return;
    let world;
    try { world = await (await fetch(box.dataset.countries)).json(); }
    catch (e) { box.textContent = "The map could not be loaded; the table below lists every placement."; return; }
    const lons = points.map((p) => p.lon), lats = points.map((p) => p.lat);
    let x0 = Math.min(...lons) - 8, x1 = Math.max(...lons) + 8, y0 = Math.min(...lats) - 6, y1 = Math.max(...lats) + 6;
    if (x1 - x0 < 30) { const c = (x0 + x1) / 2; x0 = c - 15; x1 = c + 15; }
    if (y1 - y0 < 0.55 * (x1 - x0)) {  // keep the map from becoming a thin strip
      const c = (y0 + y1) / 2, half = Math.min(85, 0.275 * (x1 - x0));
      y0 = Math.max(-85, c - half); y1 = Math.min(85, c + half);
    }
    const width = x1 - x0, height = y1 - y0;
    const map = svg("svg", { viewBox: x0 + " " + -y1 + " " + width + " " + height, class: "map", role: "img",
      "aria-label": "Map of " + points.length + " placements; the table below lists them" });
    const land = topojson.feature(world, world.objects.countries);
    // A ring that jumps across the antimeridian is broken there instead of drawn across the map.
    const path = (rings) => rings.map((ring) => ring.map(([lon, lat], i) => {
      const jump = i === 0 || Math.abs(lon - ring[i - 1][0]) > 180;
      return (jump ? "M" : "L") + lon.toFixed(2) + "," + (-lat).toFixed(2);
    }).join("")).join("");
    for (const f of land.features) {
      const g = f.geometry;
      if (!g) continue;
      const polys = g.type === "Polygon" ? [g.coordinates] : g.coordinates;
      map.append(svg("path", { d: polys.map(path).join(""), class: "land" }));
    }
    const max = Math.max(1, ...points.map((p) => p.scans));
    const unit = width / 140;
    // Several placements share a city: nudge overlapping pins apart a little.
    const seen = new Map();
    points.sort((a, b) => b.scans - a.scans).forEach((p) => {
      const key = Math.round(p.lon) + ":" + Math.round(p.lat);
      const n = seen.get(key) || 0;
      seen.set(key, n + 1);
      const r = unit * (0.6 + 1.8 * Math.sqrt(p.scans / max));
      const c = svg("circle", { cx: (p.lon + n * unit * 0.6).toFixed(3), cy: (-p.lat).toFixed(3), r: r.toFixed(3), class: "pin", "fill-opacity": "0.7" });
      const t = svg("title", {});
      t.textContent = p.name + " — " + p.scans + " scans";
      c.append(t);
      map.append(c);
    });
    box.replaceChildren(map);
  }

  const mapBox = document.getElementById("map");
  if (mapBox) drawMap(mapBox);

  const form = document.getElementById("print-run");
  if (!form) return;
  const box = document.getElementById("pr-progress");
  const bar = document.getElementById("pr-bar");
  const status = document.getElementById("pr-status");
  const downloads = document.getElementById("pr-downloads");
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  async function follow(job) {
    for (;;) {
      bar.max = Math.max(1, job.total);
      bar.value = job.progress;
      status.textContent = "Rendering: " + job.progress + " of " + job.total + " steps (" + job.status + ")";
      if (job.status === "succeeded") {
        status.textContent = "Done: the print run is ready.";
        downloads.replaceChildren(...Object.entries(job.downloads || {}).map(([name, href]) => {
          const a = document.createElement("a");
          a.className = "btn";
          a.href = href;
          a.textContent = "Download " + name.toUpperCase();
          a.setAttribute("download", "");
          return a;
        }));
        return;
      }
      if (job.status === "failed") { status.textContent = "The rendering failed: " + (job.error || "see the server log"); return; }
      await sleep(1000);
      job = await SR.api("GET", "/api/v1/jobs/" + job.id);
    }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    SR.clearErrors(form);
    const file = form.elements.file.files[0];
    if (!file) { SR.showErrors(form, new SR.ApiError(422, { title: "Invalid input", errors: [{ field: "csv", reason: "choose a CSV file first" }] })); return; }
    const fd = new FormData();
    fd.append("file", file);
    for (const name of ["paper", "columns", "rows"]) fd.append(name, form.elements[name].value);
    box.hidden = false;
    downloads.replaceChildren();
    SR.busy(form, true);
    try {
      const out = await SR.upload("/api/v1/bulk/upload", fd, (share) => {
        bar.max = 1;
        bar.value = share;
        status.textContent = "Uploading: " + Math.round(share * 100) + " %";
      });
      status.textContent = out.created + " codes created; rendering the images…";
      await follow(out.job);
    } catch (err) {
      box.hidden = true;
      if (err instanceof SR.ApiError) SR.showErrors(form, err); else SR.toast(String(err), true);
    } finally {
      SR.busy(form, false);
    }
  });
})();
