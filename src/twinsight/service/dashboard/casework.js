/* Twinsight dashboard: the social-services twin's page (docs/dashboard.md). Loaded after app.js
 * and uses its helpers (h, s, chart, api, tw, table ...). A fan chart of the backlog (open
 * cases) ahead with 50%/90% bands, and the share of cases decided within the statutory deadline
 * by district (the model in steady state as bars, what was observed as dots) against a target
 * line; a district with fewer than 5 decisions is shown as "<5" with no rate. Tables are the
 * charts' text alternative. */
"use strict";

const CW_DAY_MS = 864e5;

/** The backlog fan: 90% and 50% bands and the median per day ahead. */
function backlogFan(rows, open) {
  const w = 640, hgt = 280, left = 56, right = 16, top = 18, bottom = 30;
  const t = rows.map((r) => Date.parse(`${r.date}T00:00:00Z`));
  const hi = Math.max(1, ...rows.map((r) => r.p95)) * 1.08;
  const x = scale(t[0], t[t.length - 1], left, w - right), y = scale(0, hi, hgt - bottom, top);
  const last = rows[rows.length - 1];
  const label = `Open cases ahead: ${open} open now; median ${fmt(last.p50, 0)} on ${last.date} (90% band ${fmt(last.p5, 0)} to ${fmt(last.p95, 0)})`;
  const svg = chart(w, hgt, label, { "data-chart": "casework-backlog", "data-days": rows.length, "data-last-p50": last.p50.toFixed(3) });
  yAxis(svg, y, 0, hi, left, w - right);
  const line = (vals) => vals.map((v, i) => `${i ? "L" : "M"}${x(t[i]).toFixed(1)},${y(v).toFixed(1)}`).join("");
  const area = (upper, lower, cls, name) => {
    const back = lower.map((v, i) => [v, i]).reverse().map(([v, i]) => `L${x(t[i]).toFixed(1)},${y(v).toFixed(1)}`).join("");
    svg.append(s("path", { class: cls, d: line(upper) + back + "Z", "data-band": name }));
  };
  area(rows.map((r) => r.p95), rows.map((r) => r.p5), "band-90", "90");
  area(rows.map((r) => r.p75), rows.map((r) => r.p25), "band-50", "50");
  svg.append(s("path", { class: "median", "data-band": "median", d: line(rows.map((r) => r.p50)), "data-values": rows.map((r) => r.p50.toFixed(3)).join(" ") }));
  const nTicks = Math.min(5, rows.length - 1);
  for (let i = 0; i <= nTicks; i++) {
    const at = t[0] + ((t[t.length - 1] - t[0]) * i) / (nTicks || 1);
    svg.append(s("text", { x: x(at), y: hgt - 10, "text-anchor": i === 0 ? "start" : i === nTicks ? "end" : "middle" }, new Date(at).toISOString().slice(0, 10)));
  }
  return svg;
}

/** Share decided within the deadline per district: model bars, observed dots, target line. */
function deadlineChart(rows, target) {
  const rowH = 36, left = 130, right = 70, top = 24, w = 720;
  const hgt = top + rows.length * rowH + 30;
  const x = scale(0, 1, left, w - right);
  const shown = rows.filter((r) => typeof r.model === "number");
  const below = shown.filter((r) => r.model < target).map((r) => r.name);
  const label = `Share of cases decided within the deadline by district against the ${pct(target)} target: `
    + (below.length ? `below target in ${below.join(", ")}` : "every district shown meets it")
    + (rows.length > shown.length ? `; ${rows.length - shown.length} district(s) with fewer than 5 decisions not shown` : "");
  const svg = chart(w, hgt, label, { "data-chart": "casework-deadline", "data-target": target, "data-districts": rows.length });
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(s("line", { class: "grid-line", x1: x(t), x2: x(t), y1: top - 4, y2: hgt - 26 }));
    svg.append(s("text", { x: x(t), y: hgt - 10, "text-anchor": "middle" }, pct(t)));
  }
  rows.forEach((r, i) => {
    const yy = top + i * rowH;
    svg.append(s("text", { x: left - 8, y: yy + rowH / 2 + 4, "text-anchor": "end" }, r.name));
    if (typeof r.model === "number") {
      svg.append(s("rect", { class: r.model < target ? "bar over" : "bar", x: left, y: yy + 6, width: (x(r.model) - left).toFixed(1), height: rowH - 14,
        "data-district": r.name, "data-value": r.model.toFixed(4), "data-decisions": r.decisions }, s("title", {}, `${r.name}: ${pct(r.model)} within the deadline (model), ${r.decisions} decisions per run`)));
      svg.append(s("text", { x: w - right + 8, y: yy + rowH / 2 + 4 }, pct(r.model) + (r.model < target ? " ▼" : "")));
    } else {
      svg.append(s("text", { x: left + 6, y: yy + rowH / 2 + 4, "data-district": r.name, "data-suppressed": r.decisions }, `${r.decisions} decisions: not shown`));
    }
    if (typeof r.observed === "number") {
      svg.append(s("circle", { cx: x(r.observed).toFixed(1), cy: yy + rowH / 2 - 1, r: 5, fill: "#1a1d21", "data-observed": r.observed.toFixed(4), "data-district": r.name },
        s("title", {}, `${r.name}: ${pct(r.observed)} observed`)));
    }
  });
  svg.append(s("line", { class: "line-85", x1: x(target), x2: x(target), y1: top - 8, y2: hgt - 26, "data-series": "target", "data-value": target }));
  svg.append(s("text", { x: x(target), y: top - 10, "text-anchor": "middle" }, `target ${pct(target)}`));
  return svg;
}

async function pageCasework(root, signal) {
  const field = (id, text, value, min, max, step = 1) => h("div", { class: "field" }, h("label", { for: id, text }),
    h("input", { id, name: id, type: "number", value, min, max, step, required: true }));
  const run = h("button", { type: "submit", text: "Forecast" });
  const form = h("form", { id: "casework-form", class: "panel" },
    h("div", { class: "row" }, field("cw-days", "Days ahead", 28, 1, 180), field("cw-reps", "Runs", 100, 2, 500),
      field("cw-seed", "Seed", 1, 0, 1e9), field("cw-target", "Target within deadline (%)", 90, 1, 100),
      field("cw-eqdays", "Deadline chart: days simulated", 182, 1, 730), run),
    h("p", { class: "hint", text: "The forecast starts from the open cases now. The deadline chart runs the calibrated model in steady state (10 runs; shares are per run, so a short run leaves small districts suppressed). Same inputs give the same numbers." }));
  const head = h("div", { id: "casework-head" });
  const charts = h("div", { class: "grid", id: "casework-charts" });
  const tables = h("div", { id: "casework-tables" });
  root.append(h("h2", { text: "Social services: backlog and deadlines" }), form, head,
    h("p", { class: "legend" },
      h("span", {}, h("span", { class: "key", style: "background:var(--band90)" }), "90% band"),
      h("span", {}, h("span", { class: "key", style: "background:var(--band50)" }), "50% band"),
      h("span", {}, "solid line: median"),
      h("span", {}, h("span", { class: "key", style: "background:var(--bar)" }), "within deadline (model)"),
      h("span", {}, h("span", { class: "key", style: "background:var(--over)" }), "below target (▼)"),
      h("span", {}, "dots: observed"), h("span", {}, "dashed red: target")),
    charts, tables);
  const load = async () => {
    const v = (id) => form.querySelector(id).value;
    const target = Number(v("#cw-target")) / 100;
    say("Casework forecast: running…");
    const [fc, eq] = await Promise.all([
      api(tw(`/casework/forecast?${new URLSearchParams({ days: v("#cw-days"), reps: v("#cw-reps"), seed: v("#cw-seed") })}`), { signal }),
      api(tw(`/casework/equity?${new URLSearchParams({ days: v("#cw-eqdays"), reps: 10, seed: v("#cw-seed"), target })}`), { signal }),
    ]);
    say(`Casework forecast: ${fc.reps} runs from ${fc.at.slice(0, 10)}`);
    const within = fc.kpis.within_deadline || {};
    head.replaceChildren(h("p", { "data-at": fc.at, "data-open": fc.open_cases },
      `${fc.open_cases} open cases on ${fc.at.slice(0, 10)} (${fc.open_past_deadline} past the ${fmt(fc.deadline_days, 0)}-day deadline); `
      + `of cases referred in the next ${fmt(fc.days, 0)} days and decided in them, ${pct(within.p50)} within the deadline (90% band ${pct(within.p5)} to ${pct(within.p95)}).`));
    const districts = eq.model.filter((r) => /^(district|group)=/.test(r.group)).map((r) => {
      const obs = eq.observed[r.group] || {};
      return { name: r.group.split("=")[1], decisions: r.decisions, model: r.within_deadline, observed: obs.within_deadline, obsDecisions: obs.decisions, days: r.time_to_decision };
    });
    charts.replaceChildren(
      h("figure", { class: "panel" }, h("figcaption", {}, h("strong", { text: "Open cases ahead" })), backlogFan(fc.backlog, fc.open_cases)),
      h("figure", { class: "panel" }, h("figcaption", {}, h("strong", { text: "Decided within the deadline, by district" }),
        ` · counts of fewer than ${eq.k} are shown as "<${eq.k}"`), deadlineChart(districts, eq.target)));
    const pick = fc.backlog.filter((_, i) => i % 7 === 6 || i === 0);
    tables.replaceChildren(
      table("Open cases ahead, by week", ["Day", "Median", "50% band", "90% band"],
        pick.map((r) => [r.date, fmt(r.p50, 0), `${fmt(r.p25, 0)}–${fmt(r.p75, 0)}`, `${fmt(r.p5, 0)}–${fmt(r.p95, 0)}`]), [1, 2, 3]),
      table(`By district: the model over ${fmt(eq.days, 0)} days (${eq.reps} runs, per run) and observed`,
        ["District", "Decisions", "Days to decision", "Within deadline", "Observed decisions", "Observed within"],
        districts.map((d) => [d.name, String(d.decisions), fmt(d.days, 1), pct(d.model), String(d.obsDecisions ?? "–"), pct(d.observed)]), [1, 2, 3, 4, 5]));
  };
  form.addEventListener("submit", busy(run, load));
  try { await load(); } catch (e) { if (e.name !== "AbortError") problem(head, e); }
}

PAGES.push("casework");
RENDER.casework = pageCasework;
