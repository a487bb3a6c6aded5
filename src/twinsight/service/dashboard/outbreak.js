/* Twinsight dashboard: the outbreak twin's page (docs/dashboard.md). Loaded after app.js and
 * uses its helpers (h, s, chart, api, tw, table ...). Fan charts of beds, ICU beds and
 * ventilators in use with 50%/90% bands, the observed counts as points, and CHIME's census
 * for comparison; every chart carries data-* attributes and a table as its text alternative. */
"use strict";

const OUTBREAK_METRICS = [
  // [forecast metric, title, CHIME disposition, capacity label]
  ["census", "Beds in use", "hospitalized", "beds"],
  ["icu", "ICU beds in use", "icu", "ICU beds"],
  ["ventilated", "Ventilators in use", "ventilated", "ventilators"],
  ["admissions", "Admissions a day", null, null],
];
const DAY_MS = 864e5;

function dayMs(iso) { return Date.parse(`${iso}T00:00:00Z`); }

/** One metric's fan: bands and median ahead, observed points behind, CHIME's line, capacity. */
function outbreakFan(metric, title, rows, observed, chimeLine, capacity) {
  const w = 640, hgt = 280, left = 56, right = 16, top = 18, bottom = 30;
  const t = rows.map((r) => dayMs(r.date));
  const obs = observed.filter((o) => typeof o.value === "number");
  const chime = chimeLine || [];
  const xs = [...t, ...obs.map((o) => dayMs(o.date)), ...chime.map((c) => c.t)];
  const ys = [...rows.map((r) => r.p95), ...obs.map((o) => o.value), ...chime.map((c) => c.v), capacity || 0];
  const t0 = Math.min(...xs), t1 = Math.max(...xs);
  const hi = Math.max(1, ...ys) * 1.08;
  const x = scale(t0, t1, left, w - right), y = scale(0, hi, hgt - bottom, top);
  const last = rows[rows.length - 1];
  const label = `${title}: observed counts, then the forecast median ${fmt(last.p50, 0)} on ${last.date} (90% band ${fmt(last.p5, 0)} to ${fmt(last.p95, 0)})`
    + (chime.length ? "; CHIME's projection for comparison" : "") + (capacity ? `; capacity ${capacity}` : "");
  const svg = chart(w, hgt, label, { "data-chart": "outbreak-fan", "data-metric": metric, "data-capacity": capacity ?? "", "data-days": rows.length });
  yAxis(svg, y, 0, hi, left, w - right);
  const line = (pts) => pts.map(([a, b], i) => `${i ? "L" : "M"}${x(a).toFixed(1)},${y(b).toFixed(1)}`).join("");
  const area = (upper, lower, cls, name) => {
    const d = line(upper.map((v, i) => [t[i], v])) + lower.map((v, i) => [v, i]).reverse().map(([v, i]) => `L${x(t[i]).toFixed(1)},${y(v).toFixed(1)}`).join("") + "Z";
    svg.append(s("path", { class: cls, d, "data-band": name }));
  };
  area(rows.map((r) => r.p95), rows.map((r) => r.p5), "band-90", "90");
  area(rows.map((r) => r.p75), rows.map((r) => r.p25), "band-50", "50");
  svg.append(s("path", { class: "median", "data-band": "median", d: line(rows.map((r, i) => [t[i], r.p50])) }));
  if (chime.length) svg.append(s("path", { class: "empirical", "data-series": "chime", d: line(chime.map((c) => [c.t, c.v])) }));
  for (const o of obs) {
    svg.append(s("circle", { class: "observed", fill: "#1a1d21", cx: x(dayMs(o.date)).toFixed(1), cy: y(o.value).toFixed(1), r: 2.5, "data-date": o.date, "data-value": o.value },
      s("title", {}, `${o.date}: ${o.value} observed`)));
  }
  if (capacity) {
    svg.append(s("line", { class: "beds-line", x1: left, x2: w - right, y1: y(capacity), y2: y(capacity), "data-capacity": capacity }));
    svg.append(s("text", { x: w - right - 2, y: y(capacity) - 4, "text-anchor": "end" }, `capacity ${capacity}`));
  }
  svg.append(s("line", { class: "zero", x1: x(t[0] - DAY_MS / 2), x2: x(t[0] - DAY_MS / 2), y1: top, y2: hgt - bottom }));
  const nTicks = 5;
  for (let i = 0; i <= nTicks; i++) {
    const at = t0 + ((t1 - t0) * i) / nTicks;
    svg.append(s("text", { x: x(at), y: hgt - 10, "text-anchor": i === 0 ? "start" : i === nTicks ? "end" : "middle" }, new Date(at).toISOString().slice(0, 10)));
  }
  return svg;
}

async function pageOutbreak(root, signal) {
  const field = (id, text, value, min, max) => h("div", { class: "field" }, h("label", { for: id, text }),
    h("input", { id, name: id, type: "number", value, min, max, step: 1, required: true }));
  const run = h("button", { type: "submit", text: "Forecast" });
  const recal = h("button", { type: "button", text: "Recalibrate (analysts)" });
  const form = h("form", { id: "outbreak-form", class: "panel" },
    h("div", { class: "row" }, field("ob-days", "Days ahead", 28, 1, 180), field("ob-runs", "Runs", 1000, 10, 5000),
      field("ob-seed", "Seed", 1, 0, 1e9), run, recal),
    h("p", { class: "hint", text: "Same days, runs and seed give the same numbers. Recalibrating fits the model to every stored count (a few seconds)." }));
  const head = h("div", { id: "outbreak-head" });
  const charts = h("div", { class: "grid", id: "outbreak-charts" });
  const tables = h("div", { id: "outbreak-tables" });
  root.append(h("h2", { text: "Outbreak: beds, ICU beds and ventilators ahead" }), form, head,
    h("p", { class: "legend" },
      h("span", {}, h("span", { class: "key", style: "background:var(--band90)" }), "90% band"),
      h("span", {}, h("span", { class: "key", style: "background:var(--band50)" }), "50% band"),
      h("span", {}, "solid line: median"), h("span", {}, "dots: observed counts"),
      h("span", {}, "dashed orange: CHIME's census (its day 0 on the forecast's first day)"),
      h("span", {}, "dotted line: where the forecast starts")),
    charts, tables);
  const load = async () => {
    const q = new URLSearchParams({ days: form.querySelector("#ob-days").value, runs: form.querySelector("#ob-runs").value, seed: form.querySelector("#ob-seed").value });
    say("Outbreak forecast: running…");
    const [fc, chime] = await Promise.all([
      api(tw(`/outbreak/forecast?${q}`), { signal }),
      api(tw("/outbreak/chime"), { signal }).catch((e) => ({ error: e.message })),
    ]);
    say(`Outbreak forecast: ${fc.runs} runs from ${fc.first_day}`);
    head.replaceChildren(h("p", { "data-first-day": fc.first_day },
      `${fc.days} days from ${fc.first_day}, ${fc.runs} runs, seed ${fc.seed}; ${fc.calibrated ? "from the saved calibration" : "calibrated now (not saved: recalibrate to keep it)"}.`
      + (chime.error ? ` CHIME not shown: ${chime.error}` : ` CHIME: doubling time ${fmt(chime.doubling_time, 1)} days, Rt ${fmt(chime.r_t, 2)}.`)));
    const first = dayMs(fc.first_day);
    charts.replaceChildren();
    tables.replaceChildren();
    for (const [metric, title, kind, capLabel] of OUTBREAK_METRICS) {
      const rows = fc.metrics[metric];
      if (!rows || !rows.length) continue;
      const observed = (fc.observed[metric] || []).slice(-56);
      const capacity = capLabel ? fc.capacity[metric] : null;
      let chimeLine = null;
      if (kind && !chime.error) {
        chimeLine = chime.days.map((d, i) => ({ t: first + d * DAY_MS, v: chime.census[kind][i] }))
          .filter((c) => typeof c.v === "number" && c.t <= first + (rows.length - 1) * DAY_MS);
      }
      const hidden = (fc.observed[metric] || []).filter((o) => typeof o.value !== "number").length;
      charts.append(h("figure", { class: "panel" },
        h("figcaption", {}, h("strong", { text: title }), hidden ? ` · ${hidden} observed day(s) shown as fewer than 5` : ""),
        outbreakFan(metric, title, rows, observed, chimeLine, capacity)));
      const pick = rows.filter((_, i) => i % 7 === 6 || i === 0);
      const chimeAt = (date) => {
        if (!chimeLine) return "–";
        const c = chimeLine.find((p) => p.t === dayMs(date));
        return c ? fmt(c.v, 0) : "–";
      };
      tables.append(table(`${title}: forecast by week`, ["Day", "Median", "50% band", "90% band", "CHIME", "P(over capacity)"],
        pick.map((r) => [r.date, fmt(r.p50, 0), `${fmt(r.p25, 0)}–${fmt(r.p75, 0)}`, `${fmt(r.p5, 0)}–${fmt(r.p95, 0)}`, chimeAt(r.date), r.p_over === undefined ? "–" : pct(r.p_over)]),
        [1, 2, 3, 4, 5]));
    }
  };
  form.addEventListener("submit", busy(run, load));
  recal.addEventListener("click", busy(recal, async () => {
    say("Calibrating…");
    const c = await api(tw("/outbreak/calibrate"), { method: "POST", signal });
    say(`Calibrated to ${c.watermark} (${c.noise} noise)`);
    await load();
  }));
  try { await load(); } catch (e) { if (e.name !== "AbortError") problem(head, e); }
}

PAGES.push("outbreak");
RENDER.outbreak = pageOutbreak;
