/* scanroute dashboard: charts (Chart.js, installed from npm and served locally).
 *
 * Every <canvas data-chart="timeseries|doughnut|bars" data-source="JSON-block-id" data-key="…">
 * is drawn from the page's JSON block:
 * - timeseries: series.points (this period), series.previous (dashed), forecast.forecast
 *   (expected line and low/high band) and anomalies (red triangles on their day);
 * - doughnut / bars: breakdowns[data-key].rows (scans per group).
 * Numbers are also in the tables next to each chart, for screen readers and exact reading.
 */
(function () {
  "use strict";
  if (!window.Chart) return;
  const C = window.Chart;
  C.defaults.font.family = getComputedStyle(document.body).fontFamily;
  C.defaults.color = "#374151";
  C.defaults.animation = window.matchMedia("(prefers-reduced-motion: reduce)").matches ? false : { duration: 300 };
  const BLUE = "#1d4ed8", GREY = "#94a3b8", ORANGE = "#c2410c", RED = "#b91c1c";
  const PALETTE = ["#1d4ed8", "#0f766e", "#c2410c", "#7c3aed", "#be185d", "#4d7c0f", "#a16207", "#475569"];
  const fmt = (window.SR && SR.fmt) || { count: String };

  function label(day) {
    const d = new Date(day + "T00:00:00");
    return isNaN(d) ? day : d.toLocaleDateString(undefined, { day: "numeric", month: "short" });
  }

  function timeseries(canvas, data) {
    const series = data.series;
    const any = (points) => (points || []).some((p) => p.scans > 0);
    if (!series || !any(series.points) && !any(series.previous)) return empty(canvas, "No scans in this period yet: the chart fills in with the first scan.");
    const days = series.points.map((p) => p.start.slice(0, 10));
    const forecast = (data.forecast && data.forecast.forecast) || [];
    const future = forecast.map((f) => f.date).filter((d) => d > days[days.length - 1]);
    const all = days.concat(future);
    const index = new Map(all.map((d, i) => [d, i]));
    const blank = () => all.map(() => null);
    const scans = blank();
    series.points.forEach((p, i) => { scans[i] = p.scans; });
    const previous = blank();
    (series.previous || []).forEach((p, i) => { if (i < days.length) previous[i] = p.scans; });
    const low = blank(), high = blank(), expected = blank();
    forecast.forEach((f) => {
      const i = index.get(f.date);
      if (i === undefined) return;
      low[i] = f.low; high[i] = f.high; expected[i] = f.expected;
    });
    if (future.length && expected[days.length] !== null) expected[days.length - 1] = scans[days.length - 1];
    const marks = blank();
    const notes = {};
    (data.anomalies || []).forEach((a) => {
      const i = index.get(a.day);
      if (i === undefined) return;
      marks[i] = scans[i];
      const what = a.scope === "code" ? "code " + a.slug : "campaign " + (a.campaign_name || a.scope_id);
      (notes[i] = notes[i] || []).push(a.direction + " of " + what + " (" + a.observed + " vs ~" + Math.round(a.expected) + ")");
    });
    const datasets = [
      { label: "Scans", data: scans, borderColor: BLUE, backgroundColor: BLUE, borderWidth: 2.5, pointRadius: 0, pointHitRadius: 8, tension: 0.25 },
    ];
    if (any(series.previous)) datasets.push({ label: "Previous period", data: previous, borderColor: GREY, borderDash: [5, 4], borderWidth: 1.5, pointRadius: 0, tension: 0.25 });
    if (forecast.length) {
      datasets.push(
        { label: "Forecast low", data: low, borderColor: "transparent", pointRadius: 0, fill: false },
        { label: "Forecast band", data: high, borderColor: "transparent", backgroundColor: "rgba(194, 65, 12, 0.14)", pointRadius: 0, fill: "-1" },
        { label: "Forecast", data: expected, borderColor: ORANGE, borderDash: [3, 3], borderWidth: 1.5, pointRadius: 0, tension: 0.25 },
      );
    }
    if (Object.keys(notes).length) datasets.push({ label: "Anomaly", data: marks, showLine: false, pointStyle: "triangle", pointRadius: 8, pointHoverRadius: 10, borderColor: RED, backgroundColor: RED });
    return new C(canvas, {
      type: "line",
      data: { labels: all.map(label), datasets },
      options: {
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { ticks: { maxRotation: 0, autoSkipPadding: 12 } } },
        plugins: {
          legend: { labels: { filter: (item) => item.text !== "Forecast low" && item.text !== "Forecast band", usePointStyle: true } },
          tooltip: {
            filter: (item) => item.raw !== null && item.dataset.label !== "Forecast low",
            callbacks: {
              label: (ctx) => {
                if (ctx.dataset.label === "Anomaly") return (notes[ctx.dataIndex] || []).map((n) => "Anomaly: " + n);
                if (ctx.dataset.label === "Forecast band") return "Forecast range up to " + fmt.count(ctx.raw);
                return ctx.dataset.label + ": " + fmt.count(ctx.raw);
              },
            },
          },
        },
      },
    });
  }

  function groups(data, key) {
    const b = data.breakdowns && data.breakdowns[key];
    return b && b.rows ? b.rows.filter((r) => r.scans > 0) : [];
  }

  function doughnut(canvas, data, key) {
    const rows = groups(data, key);
    if (!rows.length) return empty(canvas, "No scans yet.");
    return new C(canvas, {
      type: "doughnut",
      data: { labels: rows.map((r) => r.label || "unknown"), datasets: [{ data: rows.map((r) => r.scans), backgroundColor: PALETTE, borderWidth: 1 }] },
      options: { maintainAspectRatio: false, plugins: { legend: { position: "right" } } },
    });
  }

  function bars(canvas, data, key) {
    const rows = groups(data, key);
    if (!rows.length) return empty(canvas, "No scans yet.");
    return new C(canvas, {
      type: "bar",
      data: { labels: rows.map((r) => r.label || "unknown"), datasets: [{ label: "Scans", data: rows.map((r) => r.scans), backgroundColor: BLUE }] },
      options: { indexAxis: "y", maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  }

  function empty(canvas, text) {
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = text;
    canvas.replaceWith(p);
    return null;
  }

  const drawn = [];
  function drawAll(root) {
    root.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      const data = SR.readJson(canvas.dataset.source);
      if (!data) return;
      const kind = canvas.dataset.chart;
      const chart = kind === "timeseries" ? timeseries(canvas, data)
        : kind === "doughnut" ? doughnut(canvas, data, canvas.dataset.key)
        : kind === "bars" ? bars(canvas, data, canvas.dataset.key) : null;
      if (chart) drawn.push(chart);
    });
  }
  drawAll(document);
  window.SR = Object.assign(window.SR || {}, { charts: { timeseries, doughnut, bars, drawAll, drawn } });
})();
