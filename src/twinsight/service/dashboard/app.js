/* Twinsight dashboard: a single page reading the service's API with a bearer token.
 * Plain ES2020, no libraries, no build step, no network but this service. Charts are inline
 * SVG; every chart carries data-* attributes with the numbers it draws and a text alternative
 * (a table or a sentence). See docs/dashboard.md. */
"use strict";

const API = "/api/v1";
const TOKEN_KEY = "twinsight.token";
const SVGNS = "http://www.w3.org/2000/svg";
const PAGES = ["live", "forecast", "scenarios", "calibration", "audit"];
let current = null;          // { abort: AbortController } of the shown page
let twins = [];

// ---------- small helpers ----------
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}
function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}
function say(text) { document.getElementById("status").textContent = text; }
function fmt(x, d = 1) { return typeof x === "number" ? x.toFixed(d) : String(x ?? "–"); }
function pct(x, d = 0) { return typeof x === "number" ? (100 * x).toFixed(d) + "%" : "–"; }
function when(t) { return t ? new Date(t).toISOString().replace("T", " ").slice(0, 16) + " UTC" : "–"; }
function num(x) { return typeof x === "number" ? x : 0; }  // "<5" drawn as 0, labelled "<5"
function token() { return sessionStorage.getItem(TOKEN_KEY); }
function twin() { return document.getElementById("twin").value; }
function tw(path) { return `${API}/twins/${encodeURIComponent(twin())}${path}`; }

class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

async function api(path, opts = {}) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (opts.json !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method: opts.method || "GET", headers, signal: opts.signal,
    body: opts.json !== undefined ? JSON.stringify(opts.json) : undefined,
  });
  if (res.status === 401) { signOut("Your token was not accepted: sign in again."); throw new ApiError(401, "sign in"); }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, body.detail || body.title || `HTTP ${res.status}`);
  return body;
}

/** Start a background job (POST answered 202) and wait for it; its result. */
async function job(path, json, signal, what) {
  const started = await api(path, { method: "POST", json, signal });
  say(`${what}: running…`);
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    if (signal && signal.aborted) throw new ApiError(0, "left the page");
    const list = await api(tw(`/jobs?id=${started.id}`), { signal });
    const j = list.jobs[0];
    if (j && j.status === "done") { say(`${what}: done in ${fmt(j.seconds, 1)} s`); return j.result; }
    if (j && j.status === "failed") { say(`${what}: failed`); throw new ApiError(422, j.error); }
  }
}

function problem(where, err) {
  if (err.status === 403) where.replaceChildren(h("p", { class: "msg", text: `Not allowed with this token: ${err.message}` }));
  else where.replaceChildren(h("p", { class: "msg", text: err.message }));
}

function busy(button, fn) {
  return async (ev) => {
    if (ev) ev.preventDefault();
    button.disabled = true;
    try { await fn(); } catch (err) { if (err.status !== 0) say(err.message); } finally { button.disabled = false; }
  };
}

// ---------- charts ----------
function scale(d0, d1, r0, r1) {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (x) => r0 + (x - d0) * k;
}
function ticks(lo, hi, n = 5) {
  const step0 = (hi - lo) / n || 1;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((m) => m >= step0) || step0;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9; t += step) out.push(+t.toFixed(10));
  return out;
}
function chart(w, hgt, label, attrs = {}) {
  return s("svg", { class: "chart", viewBox: `0 0 ${w} ${hgt}`, role: "img", "aria-label": label, ...attrs }, s("title", {}, label));
}
function yAxis(svg, y, lo, hi, x0, x1, unit = "") {
  for (const t of ticks(lo, hi)) {
    svg.append(s("line", { class: "grid-line", x1: x0, x2: x1, y1: y(t), y2: y(t) }));
    svg.append(s("text", { x: x0 - 6, y: y(t) + 4, "text-anchor": "end" }, `${t}${unit}`));
  }
}

/** Occupancy per unit against its beds (bars as share of beds) and the 85% line. */
function occupancyChart(snap) {
  const units = Object.keys(snap.beds).filter((u) => snap.beds[u]);
  const rowH = 34, left = 90, right = 80, top = 24, w = 720;
  const hgt = top + units.length * rowH + 30;
  const maxShare = Math.max(1.1, ...units.map((u) => snap.occupancy[u] || 0));
  const x = scale(0, maxShare, left, w - right);
  const svg = chart(w, hgt, `Occupancy per unit against beds; the dashed line is 85% of beds`, { "data-chart": "occupancy" });
  for (const t of ticks(0, maxShare, 5)) {
    svg.append(s("line", { class: "grid-line", x1: x(t), x2: x(t), y1: top - 4, y2: hgt - 26 }));
    svg.append(s("text", { x: x(t), y: hgt - 10, "text-anchor": "middle" }, pct(t)));
  }
  units.forEach((u, i) => {
    const yy = top + i * rowH;
    const share = snap.occupancy[u];
    const census = snap.census[u];
    const over = typeof share === "number" && share >= snap.line;
    svg.append(s("text", { x: left - 8, y: yy + rowH / 2 + 2, "text-anchor": "end" }, u));
    svg.append(s("rect", {
      class: over ? "bar over" : "bar", x: left, y: yy + 5, height: rowH - 12,
      width: Math.max(0, x(num(share)) - left), "data-unit": u, "data-census": census,
      "data-beds": snap.beds[u], "data-occupancy": share ?? "",
    }, s("title", {}, `${u}: ${census} of ${snap.beds[u]} beds`)));
    svg.append(s("text", { x: w - right + 8, y: yy + rowH / 2 + 2 }, `${census}/${snap.beds[u]}${over ? " ▲" : ""}`));
  });
  svg.append(s("line", { class: "line-85", x1: x(snap.line), x2: x(snap.line), y1: top - 8, y2: hgt - 26, "data-share": snap.line }));
  svg.append(s("text", { x: x(snap.line), y: top - 10, "text-anchor": "middle" }, "85%"));
  return svg;
}

/** A small line of the ED count over the session's messages. */
function edTrend(points) {
  const w = 720, hgt = 130, left = 50, right = 20, top = 14, bottom = 24;
  const svg = chart(w, hgt, "Patients in the ED and boarding over the last messages", { "data-chart": "ed-trend" });
  if (points.length < 2) { svg.append(s("text", { x: w / 2, y: hgt / 2, "text-anchor": "middle" }, "waiting for more updates…")); return svg; }
  const t0 = points[0].t, t1 = points[points.length - 1].t;
  const hi = Math.max(5, ...points.map((p) => p.ed));
  const x = scale(t0, t1, left, w - right), y = scale(0, hi * 1.1, hgt - bottom, top);
  yAxis(svg, y, 0, hi * 1.1, left, w - right);
  for (const key of ["ed", "boarding"]) {
    const d = points.map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)},${y(p[key]).toFixed(1)}`).join("");
    svg.append(s("path", { class: key === "ed" ? "median" : "empirical", d, "data-series": key }));
  }
  svg.append(s("text", { x: left, y: hgt - 6 }, when(new Date(t0).toISOString())));
  svg.append(s("text", { x: w - right, y: hgt - 6, "text-anchor": "end" }, when(new Date(t1).toISOString())));
  return svg;
}

/** A ward's fan chart: 90% and 50% bands, the median, beds and the 85% line. */
function fanChart(unit, b, line) {
  const w = 560, hgt = 260, left = 48, right = 16, top = 16, bottom = 30;
  const t = b.time.map((v) => Date.parse(v));
  const hi = Math.max(b.beds || 0, ...b.p95) * 1.08 || 1;
  const lo = Math.max(0, Math.min(...b.p5) * 0.9);
  const x = scale(t[0], t[t.length - 1], left, w - right), y = scale(lo, hi, hgt - bottom, top);
  const label = `${unit}: forecast of patients present, median ${fmt(b.p50[b.p50.length - 1])} at the end` + (b.beds ? ` of ${b.beds} beds` : "");
  const svg = chart(w, hgt, label, { "data-chart": "fan", "data-unit": unit, "data-beds": b.beds ?? "" });
  yAxis(svg, y, lo, hi, left, w - right);
  const area = (upper, lower, cls, name) => {
    const d = upper.map((v, i) => `${i ? "L" : "M"}${x(t[i]).toFixed(1)},${y(v).toFixed(1)}`).join("")
      + lower.map((v, i) => [v, i]).reverse().map(([v, i]) => `L${x(t[i]).toFixed(1)},${y(v).toFixed(1)}`).join("") + "Z";
    svg.append(s("path", { class: cls, d, "data-band": name }));
  };
  area(b.p95, b.p5, "band-90", "90");
  area(b.p75, b.p25, "band-50", "50");
  svg.append(s("path", { class: "median", "data-band": "median", d: b.p50.map((v, i) => `${i ? "L" : "M"}${x(t[i]).toFixed(1)},${y(v).toFixed(1)}`).join("") }));
  if (b.beds) {
    svg.append(s("line", { class: "beds-line", x1: left, x2: w - right, y1: y(b.beds), y2: y(b.beds), "data-beds": b.beds }));
    svg.append(s("text", { x: w - right - 2, y: y(b.beds) - 4, "text-anchor": "end" }, `${b.beds} beds`));
    svg.append(s("line", { class: "line-85", x1: left, x2: w - right, y1: y(line * b.beds), y2: y(line * b.beds), "data-share": line }));
    svg.append(s("text", { x: left + 4, y: y(line * b.beds) - 4 }, "85%"));
  }
  const days = Math.round((t[t.length - 1] - t[0]) / 864e5);
  for (let d = 0; d <= days; d++) {
    const at = t[0] + d * 864e5;
    svg.append(s("text", { x: x(at), y: hgt - 10, "text-anchor": "middle" }, `+${d}d`));
  }
  return svg;
}

/** Survival of a unit's stays: the fitted distribution against Kaplan-Meier. */
function survivalChart(c) {
  const w = 440, hgt = 220, left = 44, right = 12, top = 12, bottom = 30;
  const x = scale(0, c.hours[c.hours.length - 1], left, w - right), y = scale(0, 1, hgt - bottom, top);
  const svg = chart(w, hgt, `${c.unit}: share still in the unit by hours, fitted ${c.family} against the data`, { "data-chart": "survival", "data-unit": c.unit });
  yAxis(svg, y, 0, 1, left, w - right);
  const path = (vals) => vals.map((v, i) => (v === null ? "" : `${i && vals[i - 1] !== null ? "L" : "M"}${x(c.hours[i]).toFixed(1)},${y(v).toFixed(1)}`)).join("");
  if (c.empirical.some((v) => v !== null)) svg.append(s("path", { class: "empirical", d: path(c.empirical), "data-series": "empirical" }));
  svg.append(s("path", { class: "fitted", d: path(c.fitted), "data-series": "fitted" }));
  for (const t of ticks(0, c.hours[c.hours.length - 1], 4)) {
    svg.append(s("text", { x: x(t), y: hgt - 10, "text-anchor": "middle" }, `${t} h`));
  }
  return svg;
}

/** Each KPI's paired difference (scenario - baseline) with its 95% interval, on its own scale. */
function differenceChart(result) {
  const rows = [];
  for (const k of result.kpis) {
    for (const [name, v] of Object.entries(k.scenarios)) rows.push({ k, name, d: v.difference });
  }
  const rowH = 34, left = 330, right = 90, w = 860, top = 10;
  const hgt = top + rows.length * rowH + 10;
  const svg = chart(w, hgt, "Difference from the baseline per indicator, with 95% confidence intervals", { "data-chart": "differences" });
  rows.forEach((r, i) => {
    const yy = top + i * rowH + rowH / 2;
    const share = r.k.unit === "%";
    const m = share ? 100 : 1;
    const lo = num(r.d.low) * m, hi = num(r.d.high) * m, mean = num(r.d.mean) * m;
    const span = Math.max(Math.abs(lo), Math.abs(hi), 1e-9) * 1.2;
    const x = scale(-span, span, left, w - right);
    svg.append(s("text", { x: left - 8, y: yy + 4, "text-anchor": "end" }, `${r.k.label} (${share ? "points" : r.k.unit})`.slice(0, 52)));
    svg.append(s("line", { class: "zero", x1: x(0), x2: x(0), y1: yy - 12, y2: yy + 12 }));
    svg.append(s("line", { class: "ci", x1: x(lo), x2: x(hi), y1: yy, y2: yy }));
    svg.append(s("circle", { class: "dot", cx: x(mean), cy: yy, r: 5, "data-kpi": r.k.key, "data-scenario": r.name, "data-mean": mean.toFixed(4), "data-low": lo.toFixed(4), "data-high": hi.toFixed(4) },
      s("title", {}, `${r.k.label}: ${fmt(mean, 2)} (95% CI ${fmt(lo, 2)} to ${fmt(hi, 2)})`)));
    svg.append(s("text", { x: w - right + 8, y: yy + 4 }, `${mean >= 0 ? "+" : ""}${fmt(mean, 2)}`));
  });
  return svg;
}

function table(caption, head, rows, numeric = []) {
  return h("table", {}, h("caption", { text: caption }),
    h("thead", {}, h("tr", {}, head.map((c, i) => h("th", { scope: "col", class: numeric.includes(i) ? "num" : null, text: c })))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) => h("td", { class: numeric.includes(i) ? "num" : null }, c))))));
}

// ---------- pages ----------
async function pageLive(root, signal) {
  const tiles = h("div", { class: "tiles" });
  const occ = h("div", {});
  const trend = h("div", {});
  const meta = h("p", { class: "hint", id: "live-meta", text: "connecting…" });
  root.append(h("h2", { text: "Live: occupancy now" }), meta, tiles,
    h("section", { "aria-labelledby": "occ-h" }, h("h3", { id: "occ-h", text: "Occupancy per unit against its beds" }),
      h("p", { class: "legend" }, h("span", {}, h("span", { class: "key", style: "background:#2f6fb0" }), "under 85%"),
        h("span", {}, h("span", { class: "key", style: "background:#a4262c" }), "at or over 85% (▲)"),
        h("span", {}, "dashed line: 85% of beds")), occ),
    h("section", { "aria-labelledby": "ed-h" }, h("h3", { id: "ed-h", text: "ED: patients and boarding since this page opened" }),
      h("p", { class: "legend", text: "solid line: patients in the ED · dashed: in the ED 4 h or more" }), trend));
  const points = [];
  const draw = (snap) => {
    const edNum = num(snap.in_ed), boardNum = num(snap.boarding);
    points.push({ t: Date.parse(snap.at), ed: edNum, boarding: boardNum });
    if (points.length > 240) points.shift();
    const received = Date.now();
    const lag = (received - Date.parse(snap.sent_at)) / 1000;
    meta.textContent = `Hospital time ${when(snap.at)} · update ${snap.version} · received ${new Date(received).toLocaleTimeString()}`;
    meta.dataset.version = snap.version;
    meta.dataset.lag = lag.toFixed(3);
    const inpatient = Object.keys(snap.beds).filter((u) => snap.beds[u]);
    const over = inpatient.filter((u) => (snap.occupancy[u] || 0) >= snap.line);
    tiles.replaceChildren(
      h("div", { class: "tile", "data-tile": "ed" }, h("span", { class: "n", text: snap.in_ed }), h("span", { class: "what", text: "patients in the ED" })),
      h("div", { class: "tile", "data-tile": "boarding" }, h("span", { class: "n", text: snap.boarding }), h("span", { class: "what", text: "in the ED 4 h or more (boarding)" })),
      h("div", { class: "tile", "data-tile": "over85" }, h("span", { class: "n", text: over.length }), h("span", { class: "what", text: `units at or over 85%${over.length ? ": " + over.join(", ") : ""}` })),
    );
    occ.replaceChildren(occupancyChart(snap),
      table("Census per unit", ["Unit", "Patients", "Beds", "Occupancy"],
        Object.keys(snap.census).map((u) => [u, String(snap.census[u]), snap.beds[u] ?? "–", pct(snap.occupancy[u])]), [1, 2, 3]));
    trend.replaceChildren(edTrend(points));
  };
  // EventSource cannot send a token: read the stream with fetch().
  while (!signal.aborted) {
    try {
      const res = await fetch(tw("/live"), { headers: { Authorization: `Bearer ${token()}`, Accept: "text/event-stream" }, signal });
      if (res.status === 401) { signOut("Your token was not accepted: sign in again."); return; }
      if (!res.ok) { const b = await res.json().catch(() => ({})); throw new ApiError(res.status, b.detail || `HTTP ${res.status}`); }
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let cut;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, cut); buf = buf.slice(cut + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
          if (data && /^event: state/m.test(block)) draw(JSON.parse(data));
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err.status === 403 || err.status === 404) { problem(occ, err); return; }
      meta.textContent = `connection lost (${err.message}); retrying…`;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function pageForecast(root, signal) {
  const charts = h("div", { class: "grid" });
  const info = h("p", { class: "hint" });
  const record = h("div", {});
  const refresh = h("button", { type: "button", text: "Make a new forecast" });
  const runBt = h("button", { type: "button", text: "Run the backtest" });
  root.append(h("h2", { text: "Forecast: patients per ward, next days" }), info,
    h("p", { class: "legend" }, h("span", {}, h("span", { class: "key", style: "background:#9cc3e8" }), "90% band"),
      h("span", {}, h("span", { class: "key", style: "background:#4f8fcf" }), "50% band"),
      h("span", {}, h("span", { class: "key", style: "background:#0b3d74" }), "median"),
      h("span", {}, "solid line: beds · dashed: 85% of beds")),
    h("p", {}, refresh), charts,
    h("section", { "aria-labelledby": "bt-h" }, h("h3", { id: "bt-h", text: "Backtest record: how right the twin has been" }), h("p", {}, runBt), record));
  const load = async () => {
    const f = await api(tw("/forecast"), { signal });
    if (!f.available) { info.textContent = "No forecast yet: make one (analyst or admin token)."; charts.replaceChildren(); return; }
    info.textContent = `From ${when(f.at)}, ${fmt(f.days, 0)} days ahead, ${f.reps} replications (seed ${f.seed}).`;
    charts.replaceChildren(...Object.entries(f.units).filter(([, b]) => b.beds).map(([u, b]) => h("figure", { class: "panel" },
      h("figcaption", {}, h("strong", { text: u }), ` · now ${b.now}${b.beds ? " of " + b.beds + " beds" : ""}`), fanChart(u, b, f.line))));
    const ed = f.units.ED;
    if (ed) charts.append(h("figure", { class: "panel" }, h("figcaption", {}, h("strong", { text: "ED" }), ` · now ${ed.now}`), fanChart("ED", ed, f.line)));
  };
  const loadRecord = async () => {
    const b = await api(tw("/backtest"), { signal });
    if (!b.available) { record.replaceChildren(h("p", { class: "hint", text: "No backtest yet: run one (it takes a while)." })); return; }
    const sm = b.summary;
    const verdict = sm.beats_baselines ? h("span", { class: "good", text: "beats both naive baselines" }) : h("span", { class: "alarm", text: "does not beat both naive baselines" });
    record.replaceChildren(
      h("p", { "data-backtest": "summary" }, `Over ${sm.origins} origins (${when(b.made_at)}): the twin's median is off by ${fmt(sm.mae, 1)} patients on average and `, verdict,
        `; the 90% band held the truth ${pct(sm.coverage_90)} of the time, the 50% band ${pct(sm.coverage_50)}.`),
      table("Per unit", ["Unit", "MAE twin", "MAE last value", "MAE same hour last week", "90% coverage", "50% coverage"],
        Object.entries(sm.per_unit).map(([u, r]) => [u, fmt(r.mae), fmt(r.mae_last_value), fmt(r.mae_same_hour_last_week), pct(r.coverage_90), pct(r.coverage_50)]), [1, 2, 3, 4, 5]));
  };
  refresh.addEventListener("click", busy(refresh, async () => { await job(tw("/forecast"), { reps: 300 }, signal, "Forecast"); await load(); }));
  runBt.addEventListener("click", busy(runBt, async () => { await job(tw("/backtest"), { origins: 3, reps: 60, window_days: 28 }, signal, "Backtest"); await loadRecord(); }));
  await Promise.all([load().catch((e) => problem(charts, e)), loadRecord().catch((e) => problem(record, e))]);
}

function fieldFor(kind, name, spec, required) {
  const id = `iv-${kind}-${name}`;
  const types = spec.anyOf ? spec.anyOf.map((o) => o.type) : [spec.type];
  const type = types.find((t) => t && t !== "null") || "string";
  const hint = [spec.description, required ? "required" : "optional"].filter(Boolean).join("; ");
  let input;
  if (type === "array") input = h("input", { id, name, type: "text", placeholder: "comma separated", "data-type": "array" });
  else if (type === "boolean") input = h("input", { id, name, type: "checkbox", "data-type": "boolean" });
  else if (type === "integer" || type === "number") input = h("input", { id, name, type: "number", step: type === "integer" ? "1" : "any", "data-type": type, required: required || null, value: spec.default ?? null });
  else input = h("input", { id, name, type: "text", "data-type": "string", required: required || null, value: spec.default ?? null });
  return h("div", { class: "field" }, h("label", { for: id }, `${name} `, h("span", { class: "hint", text: `(${type}; ${hint})` })), input);
}

async function pageScenarios(root, signal) {
  const lib = await api(tw("/scenarios"), { signal }).catch((e) => { problem(root, e); return null; });
  if (!lib) return;
  const added = [];
  const kinds = Object.keys(lib.interventions).filter((k) => k !== "set");
  const kindSel = h("select", { id: "iv-kind", name: "kind" }, kinds.map((k) => h("option", { value: k, text: k.replaceAll("_", " ") })));
  const fields = h("div", { class: "row", id: "iv-fields" });
  const list = h("ul", { class: "interventions", "aria-live": "polite" });
  const desc = h("p", { class: "hint" });
  const showFields = () => {
    const sch = lib.interventions[kindSel.value];
    desc.textContent = (sch.description || "").replaceAll("``", "");
    fields.replaceChildren(...Object.entries(sch.properties || {}).map(([n, sp]) => fieldFor(kindSel.value, n, sp, (sch.required || []).includes(n))));
  };
  kindSel.addEventListener("change", showFields);
  showFields();
  const addBtn = h("button", { type: "button", text: "Add this change" });
  const msg = h("p", { class: "msg", role: "alert" });
  addBtn.addEventListener("click", () => {
    const params = {};
    for (const input of fields.querySelectorAll("input")) {
      const t = input.dataset.type;
      if (t === "boolean") { if (input.checked) params[input.name] = true; continue; }
      if (input.value === "") continue;
      params[input.name] = t === "integer" ? parseInt(input.value, 10) : t === "number" ? parseFloat(input.value)
        : t === "array" ? input.value.split(",").map((v) => v.trim()).filter(Boolean) : input.value;
    }
    added.push({ [kindSel.value]: params });
    msg.textContent = "";
    renderList();
  });
  const renderList = () => list.replaceChildren(...added.map((iv, i) => {
    const [k, p] = Object.entries(iv)[0];
    return h("li", {}, `${k.replaceAll("_", " ")}: ${Object.entries(p).map(([a, b]) => `${a}=${b}`).join(", ")} `,
      h("button", { type: "button", class: "link", "aria-label": `remove change ${i + 1}`, onclick: () => { added.splice(i, 1); renderList(); }, text: "Remove" }));
  }));
  const name = h("input", { id: "sc-name", name: "name", required: true, pattern: "[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}", value: "more-beds" });
  const description = h("input", { id: "sc-desc", name: "description", size: 50, value: "" });
  const days = h("input", { id: "sc-days", name: "days", type: "number", min: 1, max: 14, value: 7 });
  const reps = h("input", { id: "sc-reps", name: "reps", type: "number", min: 10, max: 2000, value: 60 });
  const saveBtn = h("button", { type: "button", text: "Save scenario" });
  const runBtn = h("button", { type: "submit", text: "Compare with the baseline" });
  const result = h("section", { id: "result", "aria-live": "polite" });
  const saved = h("div", {});
  const runs = h("div", {});
  const scenario = () => ({ name: name.value, description: description.value, interventions: added });
  const form = h("form", { id: "scenario-form", "aria-labelledby": "sc-h" },
    h("h3", { id: "sc-h", text: "Build a scenario from the intervention library" }),
    h("div", { class: "row" }, h("div", { class: "field" }, h("label", { for: "sc-name", text: "Name" }), name),
      h("div", { class: "field" }, h("label", { for: "sc-desc", text: "Description (used in the sentences)" }), description)),
    h("div", { class: "row" }, h("div", { class: "field" }, h("label", { for: "iv-kind", text: "Change" }), kindSel)), desc, fields,
    h("p", {}, addBtn), h("h4", { text: "Changes in this scenario" }), list, msg,
    h("div", { class: "row" }, h("div", { class: "field" }, h("label", { for: "sc-days", text: "Days ahead" }), days),
      h("div", { class: "field" }, h("label", { for: "sc-reps", text: "Replications" }), reps), saveBtn, runBtn));
  const compare = async (items) => {
    const r = await job(tw("/compare"), { scenarios: items, days: +days.value, reps: +reps.value }, signal, "Comparison");
    showResult(result, r);
    loadRuns();
  };
  form.addEventListener("submit", busy(runBtn, async () => {
    if (!added.length) { msg.textContent = "Add at least one change first."; return; }
    await compare([scenario()]);
  }));
  saveBtn.addEventListener("click", busy(saveBtn, async () => {
    if (!added.length) { msg.textContent = "Add at least one change first."; return; }
    try { await api(tw("/scenarios?replace=true"), { method: "POST", json: scenario(), signal }); say(`Saved '${name.value}'`); await loadSaved(); } catch (e) { msg.textContent = e.message; }
  }));
  const loadSaved = async () => {
    const l = await api(tw("/scenarios"), { signal });
    if (!l.scenarios.length) { saved.replaceChildren(h("p", { class: "hint", text: "No saved scenarios yet." })); return; }
    saved.replaceChildren(...l.scenarios.map((sc) => {
      const b = h("button", { type: "button", text: `Compare '${sc.name}'` });
      b.addEventListener("click", busy(b, () => compare([sc.name])));
      return h("p", {}, h("strong", { text: sc.name }), ` — ${sc.description || ""} (${sc.interventions.map((iv) => Object.keys(iv)[0]).join(", ")}) `, b);
    }));
  };
  function loadRunsLater() { loadRuns().catch(() => {}); }
  const loadRuns = async () => {
    const r = await api(tw("/runs?limit=15"), { signal });
    runs.replaceChildren(table("Recorded runs (rerun any with 'twinsight rerun RUN_ID')", ["Run", "Kind", "Made", "Data up to", "Replications", "Scenarios"],
      r.runs.map((x) => [x.run_id, x.kind, when(x.created_at), when(x.data_at), String(x.reps), x.scenarios.join(", ")]), [4]));
  };
  const optBox = h("div", { class: "panel" });
  optimiseForm(optBox, signal, loadRunsLater);
  root.append(h("h2", { text: "Scenarios: what if?" }), h("div", { class: "panel" }, form), result,
    h("section", { "aria-labelledby": "saved-h" }, h("h3", { id: "saved-h", text: "Saved scenarios" }), saved),
    h("section", { "aria-labelledby": "opt-h" }, h("h3", { id: "opt-h", text: "Optimisation: the fewest beds that keep occupancy under a target" }), optBox),
    h("section", { "aria-labelledby": "runs-h" }, h("h3", { id: "runs-h", text: "Runs" }), runs));
  await Promise.all([loadSaved().catch((e) => problem(saved, e)), loadRuns().catch((e) => problem(runs, e))]);
}

async function optimiseForm(box, signal, done) {
  let opt;
  try { opt = await api(tw("/optimise"), { signal }); } catch (e) { problem(box, e); return; }
  if (!opt.available) { box.replaceChildren(h("p", { class: "hint", text: "Calibrate the twin first." })); return; }
  const wards = Object.entries(opt.resources).filter(([n]) => n.endsWith("_beds"));
  const rows = wards.map(([n, r], i) => {
    const unit = n.replace(/_beds$/, "");
    const use = h("input", { type: "checkbox", id: `opt-use-${unit}`, checked: i === 0 || null });
    const lower = h("input", { type: "number", id: `opt-lo-${unit}`, min: 1, value: Math.max(1, r.capacity - 6), size: 5 });
    const upper = h("input", { type: "number", id: `opt-hi-${unit}`, min: 1, value: r.capacity + 10, size: 5 });
    const cost = h("input", { type: "number", id: `opt-cost-${unit}`, min: 0, step: "any", value: 1, size: 5 });
    return { n, path: r.path, use, lower, upper, cost, row: h("div", { class: "row" },
      h("div", { class: "field" }, h("label", { for: use.id }, `Decide ${unit} beds `, h("span", { class: "hint", text: `(now ${r.capacity})` })), use),
      h("div", { class: "field" }, h("label", { for: lower.id, text: "at least" }), lower),
      h("div", { class: "field" }, h("label", { for: upper.id, text: "at most" }), upper),
      h("div", { class: "field" }, h("label", { for: cost.id, text: "cost per bed" }), cost)) };
  });
  const occ = h("input", { type: "number", id: "opt-occ", min: 10, max: 100, value: 85 });
  const days = h("input", { type: "number", id: "opt-days", min: 1, max: 56, value: 14 });
  const present = h("input", { type: "checkbox", id: "opt-present", checked: true });
  const reps = h("input", { type: "number", id: "opt-reps", min: 2, max: 200, value: 10 });
  const run = h("button", { type: "submit", text: "Find the cheapest beds" });
  const out = h("div", { id: "opt-result", "aria-live": "polite" });
  const form = h("form", { id: "optimise-form", "aria-label": "Optimisation" }, rows.map((r) => r.row),
    h("div", { class: "row" },
      h("div", { class: "field" }, h("label", { for: "opt-occ", text: "Mean occupancy at most (%)" }), occ),
      h("div", { class: "field" }, h("label", { for: "opt-days", text: "Days simulated" }), days),
      h("div", { class: "field" }, h("label", { for: "opt-present", text: "Start from the hospital now" }), present),
      h("div", { class: "field" }, h("label", { for: "opt-reps", text: "Replications" }), reps), run), out);
  form.addEventListener("submit", busy(run, async () => {
    const used = rows.filter((r) => r.use.checked);
    if (!used.length) { out.replaceChildren(h("p", { class: "msg", text: "Choose at least one ward to decide." })); return; }
    const problemBody = {
      name: "dashboard-beds", description: `beds with mean occupancy <= ${occ.value}%`,
      twin: { days: +days.value, present: present.checked },
      decisions: Object.fromEntries(used.map((r) => [r.n, { path: r.path, lower: +r.lower.value, upper: +r.upper.value, cost: +r.cost.value }])),
      constraints: used.map((r) => ({ kpi: `utilisation[${r.n}]`, at_most: +occ.value / 100 })),
      run: { reps: +reps.value, max_reps: 4 * +reps.value, seed: 1 },
    };
    const r = await job(tw("/optimise"), problemBody, signal, "Optimisation");
    const ev = r.best || r.closest;
    const head = r.best
      ? h("p", { class: "good", "data-optimise": "best", "data-decision": JSON.stringify(r.best.decision) },
        `Cheapest decision meeting the target: ${Object.entries(r.best.decision).map(([k, v]) => `${k.replace(/_beds$/, "")} ${v} beds`).join(", ")} (cost ${fmt(r.best.cost, 1)}).`)
      : h("p", { class: "alarm", "data-optimise": "infeasible" }, `No decision within the bounds meets the target: ${r.reason}`);
    out.replaceChildren(head, h("p", { class: "hint", text: `${r.evaluated} decisions simulated, ${r.skipped} ruled out without simulation, of ${r.lattice}; run ${r.run_id}.` }),
      ev ? table(r.best ? "Its targets" : "The closest decision's targets", ["Target", "Mean", "One-sided bound", "Replications", "Verdict"],
        ev.checks.map((c) => [`${c.kpi} ${c.at_most !== undefined ? "≤ " + c.at_most : "≥ " + c.at_least}`, fmt(c.mean, 3), fmt(c.bound, 3), String(c.n), c.verdict]), [1, 2, 3]) : "");
    done();
  }));
  box.replaceChildren(h("p", { class: "hint", text: "The twin's own calibrated model; each decision is simulated with common random numbers and checked against the target with a one-sided 95% bound (by its mean once the replication limit is reached: the verdict says which)." }), form);
}

function showResult(where, r) {
  const sentences = [];
  for (const k of r.kpis) for (const v of Object.values(k.scenarios)) sentences.push(v.sentence);
  where.replaceChildren(h("h3", { text: `Against the baseline (${r.reps} paired replications, run ${r.run_id || "not recorded"})` }),
    h("ul", { class: "sentences", "data-result": "sentences" }, sentences.map((t) => h("li", { class: "sentence", text: t }))),
    differenceChart(r),
    table("Indicators: baseline and scenario (95% intervals)", ["Indicator", "Baseline", "Scenario", "Difference", "95% CI"],
      r.kpis.flatMap((k) => Object.entries(k.scenarios).map(([n, v]) => {
        const m = k.unit === "%" ? 100 : 1;
        return [`${k.label} — ${n}`, fmt(k.baseline.mean * m, 2), fmt(v.mean * m, 2), fmt(v.difference.mean * m, 2), `${fmt(v.difference.low * m, 2)} to ${fmt(v.difference.high * m, 2)}`];
      })), [1, 2, 3]));
}

async function pageCalibration(root, signal) {
  const head = h("div", {});
  const curves = h("div", { class: "grid" });
  const alarms = h("div", {});
  const recal = h("button", { type: "button", text: "Calibrate again" });
  const check = h("button", { type: "button", text: "Check drift now" });
  root.append(h("h2", { text: "Calibration and drift" }), head, h("p", {}, recal),
    h("p", { class: "legend" }, h("span", {}, h("span", { class: "key", style: "background:#0b3d74" }), "fitted distribution"),
      h("span", {}, h("span", { class: "key", style: "background:#c26a00" }), "the data (Kaplan-Meier)")), curves,
    h("section", { "aria-labelledby": "al-h" }, h("h3", { id: "al-h", text: "Alarms" }), h("p", {}, check), alarms));
  const load = async () => {
    const c = await api(tw("/calibration"), { signal });
    if (!c.available) { head.replaceChildren(h("p", { class: "hint", text: "Not calibrated yet." })); curves.replaceChildren(); return; }
    head.replaceChildren(h("p", {}, `Fitted on ${fmt(c.window_days, 0)} days up to ${when(c.watermark)}: ${fmt(c.arrivals_per_hour, 2)} ED arrivals an hour on average (day-to-day dispersion ${fmt(c.daily_dispersion, 2)}).`),
      table("Length of stay per unit", ["Unit", "Distribution", "Mean (hours)", "Stays", "KS distance", "KS p"],
        c.units.map((u) => [u.unit, u.family, fmt(u.mean_hours), String(u.n), fmt(u.ks, 3), fmt(u.ks_p, 3)]), [2, 3, 4, 5]));
    curves.replaceChildren(...c.units.map((u) => h("figure", { class: "panel" }, h("figcaption", {}, h("strong", { text: u.unit }), ` · ${u.family}, mean ${fmt(u.mean_hours)} h`), survivalChart(u))));
  };
  const loadAlarms = async () => {
    const a = await api(tw("/alarms"), { signal });
    alarms.replaceChildren(a.alarms.length ? table("Recorded alarms, newest first", ["Kind", "Unit", "Since", "Statistic", "What it means"],
      a.alarms.map((x) => [x.kind, x.unit, when(x.since), fmt(x.statistic, 2), x.message]), [3]) : h("p", { class: "good", "data-alarms": "0", text: "No alarms recorded." }));
  };
  recal.addEventListener("click", busy(recal, async () => { await job(tw("/calibration"), undefined, signal, "Calibration"); await load(); }));
  check.addEventListener("click", busy(check, async () => { const r = await job(tw("/alarms"), undefined, signal, "Drift check"); say(`Drift check: ${r.alarms.length} alarm(s)`); await loadAlarms(); }));
  await Promise.all([load().catch((e) => problem(head, e)), loadAlarms().catch((e) => problem(alarms, e))]);
}

async function pageAudit(root, signal) {
  const out = h("div", {});
  root.append(h("h2", { text: "Audit: who did what, when" }), out);
  try {
    const [a, v] = await Promise.all([api(tw("/audit?limit=200"), { signal }), api(tw("/audit/verify"), { signal })]);
    out.append(h("p", { class: v.intact ? "good" : "alarm", text: v.intact ? `The audit chain is intact (${v.entries} entries).` : `The audit chain is broken: ${v.problem && v.problem.message}` }),
      table("Newest entries first", ["#", "When", "Who", "What", "On", "Detail"],
        a.entries.slice().reverse().map((e) => [String(e.seq), when(e.at), e.actor, e.action, e.target, JSON.stringify(e.detail).slice(0, 160)]), [0]));
  } catch (e) { problem(out, e); }
}

const RENDER = { live: pageLive, forecast: pageForecast, scenarios: pageScenarios, calibration: pageCalibration, audit: pageAudit };

// ---------- shell ----------
function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  if (current) current.abort();
  document.getElementById("page").replaceChildren();
  document.getElementById("signin").hidden = false;
  document.getElementById("signin-msg").textContent = message || "";
  document.getElementById("token").focus();
}

async function loadTwins() {
  const list = await api(`${API}/twins`);
  twins = list.twins;
  const sel = document.getElementById("twin");
  const keep = sel.value || localStorage.getItem("twinsight.twin");
  sel.replaceChildren(...twins.map((t) => h("option", { value: t.name, text: t.name })));
  if (keep && twins.some((t) => t.name === keep)) sel.value = keep;
}

/** Nav entries of one template (outbreak.js, patient.js) are shown for twins of it only. */
function templateTabs() {
  const t = twins.find((x) => x.name === twin());
  for (const li of document.querySelectorAll(".tabs [data-template]")) li.hidden = !t || li.dataset.template !== t.template;
}

async function show() {
  if (!token()) { signOut(); return; }
  document.getElementById("signin").hidden = true;
  const page = PAGES.includes(location.hash.slice(1)) ? location.hash.slice(1) : "live";
  for (const a of document.querySelectorAll(".tabs a")) {
    if (a.dataset.page === page) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  if (current) current.abort();
  current = new AbortController();
  const root = document.getElementById("page");
  root.replaceChildren();
  root.dataset.page = page;
  if (!twins.length) {
    try { await loadTwins(); } catch (e) { if (e.status !== 401) problem(root, e); return; }
  }
  if (!twins.length) { root.append(h("p", { text: "No twins in this service's home yet: 'twinsight init NAME'." })); return; }
  templateTabs();
  document.title = `${page[0].toUpperCase()}${page.slice(1)} · ${twin()} · Twinsight`;
  try { await RENDER[page](root, current.signal); } catch (e) { if (e.name !== "AbortError" && e.status !== 0) problem(root, e); }
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("signin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, document.getElementById("token").value.trim());
    document.getElementById("token").value = "";
    twins = [];
    await show();
    document.getElementById("main").focus();
  });
  document.getElementById("signout").addEventListener("click", () => signOut("Signed out."));
  document.getElementById("twin").addEventListener("change", () => { localStorage.setItem("twinsight.twin", twin()); show(); });
  window.addEventListener("hashchange", show);
  show();
});
