/* Twinsight dashboard: the contact-centre twin's page (docs/dashboard.md). Loaded after app.js
 * and uses its helpers (h, s, chart, api, tw, table ...). Per queue, the staffing plan of a
 * weekday: bars of productive agents required and agents rostered (after shrinkage) per
 * interval, the predicted service level as a line against its target, and beside the chart a
 * table with calls, ASA and abandonment as its text alternative. */
"use strict";

const CC_DAYS = [["mon", "Monday"], ["tue", "Tuesday"], ["wed", "Wednesday"], ["thu", "Thursday"], ["fri", "Friday"], ["sat", "Saturday"], ["sun", "Sunday"]];
const CC_REQUIRED = "#2f6fb0", CC_ROSTERED = "#9cc3e8", CC_SL = "#1e6b33", CC_TARGET = "#a4262c";

/** One queue's intervals: required and rostered agents as bars, service level on the right. */
function staffingChart(queue, rows, target) {
  const w = 720, hgt = 300, left = 44, right = 52, top = 20, bottom = 34;
  const n = rows.length;
  const hi = Math.max(1, ...rows.map((r) => r.rostered)) * 1.1;
  const y = scale(0, hi, hgt - bottom, top), sl = scale(0, 1, hgt - bottom, top);
  const slot = (w - left - right) / n, bw = Math.max(1.5, slot * 0.38);
  const x = (i) => left + i * slot;
  const peak = rows.reduce((a, r) => (r.rostered > a.rostered ? r : a), rows[0]);
  const misses = rows.filter((r) => typeof r.service_level === "number" && r.service_level < target).length;
  const label = `${queue}: agents required and rostered per interval from ${rows[0].start} to ${rows[n - 1].start}; `
    + `peak ${peak.rostered} rostered (${peak.agents} required) at ${peak.start}; predicted service level `
    + (misses ? `below the ${pct(target)} target in ${misses} interval(s)` : `at or above the ${pct(target)} target in every interval`);
  const svg = chart(w, hgt, label, { "data-chart": "contact-staffing", "data-queue": queue, "data-intervals": n, "data-target": target });
  yAxis(svg, y, 0, hi, left, w - right);
  for (const t of [0, 0.5, 1]) svg.append(s("text", { x: w - right + 6, y: sl(t) + 4 }, pct(t)));
  rows.forEach((r, i) => {
    const tip = `${r.start}: ${r.agents} required, ${r.rostered} rostered, ${fmt(r.calls, 1)} calls, service level ${pct(r.service_level)}`;
    svg.append(s("rect", { x: (x(i) + slot / 2 - bw).toFixed(1), y: y(r.agents).toFixed(1), width: bw.toFixed(1), height: (y(0) - y(r.agents)).toFixed(1),
      fill: CC_REQUIRED, "data-series": "required", "data-start": r.start, "data-value": r.agents }, s("title", {}, tip)));
    svg.append(s("rect", { x: (x(i) + slot / 2).toFixed(1), y: y(r.rostered).toFixed(1), width: bw.toFixed(1), height: (y(0) - y(r.rostered)).toFixed(1),
      fill: CC_ROSTERED, "data-series": "rostered", "data-start": r.start, "data-value": r.rostered }, s("title", {}, tip)));
  });
  const pts = rows.map((r, i) => [x(i) + slot / 2, typeof r.service_level === "number" ? r.service_level : null]).filter((p) => p[1] !== null);
  svg.append(s("path", { d: pts.map(([a, b], i) => `${i ? "L" : "M"}${a.toFixed(1)},${sl(b).toFixed(1)}`).join(""), fill: "none", stroke: CC_SL, "stroke-width": 2.5,
    "data-series": "service-level", "data-values": pts.map((p) => p[1].toFixed(4)).join(" ") }));
  svg.append(s("line", { x1: left, x2: w - right, y1: sl(target), y2: sl(target), stroke: CC_TARGET, "stroke-width": 2, "stroke-dasharray": "6 4", "data-series": "target", "data-value": target }));
  svg.append(s("text", { x: w - right - 2, y: sl(target) - 5, "text-anchor": "end", fill: CC_TARGET }, `target ${pct(target)}`));
  const every = Math.max(1, Math.ceil(n / 8));
  rows.forEach((r, i) => { if (i % every === 0) svg.append(s("text", { x: x(i) + slot / 2, y: hgt - 14, "text-anchor": "middle" }, r.start)); });
  svg.append(s("text", { x: left, y: hgt - 2 }, "agents (left), service level (right); times UTC"));
  return svg;
}

/** Calls-weighted day figures of one queue: calls, ASA (s), abandonment, service level. */
function ccDay(rows) {
  const calls = rows.reduce((a, r) => a + r.calls, 0) || 1;
  const avg = (k) => rows.reduce((a, r) => a + (typeof r[k] === "number" ? r[k] * r.calls : 0), 0) / calls;
  return { calls, asa: avg("asa_seconds"), abandon: avg("abandon"), sl: avg("service_level") };
}

async function pageContact(root, signal) {
  const day = h("select", { id: "cc-day", name: "cc-day" }, CC_DAYS.map(([v, t]) => h("option", { value: v, text: t })));
  const method = h("select", { id: "cc-method", name: "cc-method" },
    h("option", { value: "erlang", text: "Erlang C/A (fast)" }), h("option", { value: "auto", text: "Auto (simulation where Erlang does not hold)" }));
  const run = h("button", { type: "submit", text: "Plan" });
  const form = h("form", { id: "contact-form", class: "panel" },
    h("div", { class: "row" }, h("div", { class: "field" }, h("label", { for: "cc-day", text: "Day" }), day),
      h("div", { class: "field" }, h("label", { for: "cc-method", text: "Method" }), method), run),
    h("p", { class: "hint", text: "Each interval is staffed with the fewest agents that meet the service-level target and the abandonment cap; rostered agents add shrinkage. Simulation takes longer." }));
  const head = h("div", { id: "contact-head" });
  const out = h("div", { id: "contact-queues" });
  root.append(h("h2", { text: "Contact centre: staffing per interval" }), form, head,
    h("p", { class: "legend" },
      h("span", {}, h("span", { class: "key", style: `background:${CC_REQUIRED}` }), "agents required (productive)"),
      h("span", {}, h("span", { class: "key", style: `background:${CC_ROSTERED}` }), "agents rostered (with shrinkage)"),
      h("span", {}, h("span", { class: "key", style: `background:${CC_SL}` }), "predicted service level"),
      h("span", {}, h("span", { class: "key", style: `background:${CC_TARGET}` }), "service-level target")),
    out);
  const load = async () => {
    say("Staffing: planning…");
    const plan = await api(tw(`/contact/staffing?${new URLSearchParams({ day: day.value, method: method.value })}`), { signal });
    const target = plan.service_level.target;
    say(`Staffing: ${plan.intervals.length} intervals planned`);
    head.replaceChildren(h("p", { "data-day": plan.day, "data-method": plan.method },
      `${CC_DAYS.find((d) => d[0] === plan.day)[1]}, ${plan.interval_minutes}-minute intervals, method ${plan.method}: `
      + `target ${pct(target)} of calls answered within ${fmt(plan.service_level.seconds, 0)} s, abandonment at most ${pct(plan.max_abandon, 1)}, shrinkage ${pct(plan.shrinkage)}.`));
    out.replaceChildren();
    const tiles = h("div", { class: "tiles" });
    out.append(tiles);
    for (const q of plan.queues) {
      const rows = plan.intervals.filter((r) => r.queue === q);
      if (!rows.length) { out.append(h("p", { text: `${q}: no calls expected on this day.` })); continue; }
      const d = ccDay(rows);
      tiles.append(h("div", { class: "tile", "data-queue": q },
        h("span", { class: "n", text: pct(d.sl) }), h("span", { class: "what", text: `${q}: service level · ASA ${fmt(d.asa, 0)} s · abandonment ${pct(d.abandon, 1)}` })));
      out.append(h("section", { class: "panel", "aria-labelledby": `cc-h-${q}` },
        h("h3", { id: `cc-h-${q}`, text: `${q}: ${fmt(d.calls, 0)} calls expected` }),
        h("div", { style: "display:grid;grid-template-columns:minmax(0,7fr) minmax(0,5fr);gap:1rem;align-items:start" },
          h("figure", {}, staffingChart(q, rows, target)),
          h("div", { style: "max-height:320px;overflow:auto;font-size:.85rem", tabindex: 0, "aria-label": `${q} staffing table` },
            table(`${q}: per interval`, ["Start", "Calls", "Required", "Rostered", "Service level", "ASA (s)", "Abandon"],
              rows.map((r) => [r.start, fmt(r.calls, 1), String(r.agents), String(r.rostered), pct(r.service_level), fmt(r.asa_seconds, 0), pct(r.abandon, 1)]),
              [1, 2, 3, 4, 5, 6])))));
    }
  };
  form.addEventListener("submit", busy(run, load));
  try { await load(); } catch (e) { if (e.name !== "AbortError") problem(head, e); }
}

PAGES.push("contact");
RENDER.contact = pageContact;
