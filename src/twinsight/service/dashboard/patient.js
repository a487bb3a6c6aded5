/* Twinsight dashboard: the patient twin's page (docs/dashboard.md). Loaded after app.js and
 * uses its helpers. Decision support for clinicians, not medical advice: the banner (role=note)
 * is drawn first and stays at the top of the page whatever the API answers. Home readings over
 * time, predicted usual pressure under the current regimen and the top options (medians, 90%
 * intervals), the ranked regimens and the 10-year ASCVD risk before and after. */
"use strict";

const PATIENT_NOTICE = "Decision support for clinicians, not medical advice";
const PATIENT_COLOURS = ["#1a1d21", "#0b5cad", "#a4262c", "#1e6b33", "#6b3fa0"];
const DRUG_SHORT = { thiazide: "thiazide", ace_inhibitor: "ACE inhibitor", arb: "ARB", ccb: "CCB", beta_blocker: "beta blocker" };
const DOSE_SHORT = { half: "½×", standard: "1×", double: "2×" };

(function patientStyle() {
  // this page's own rules (app.css belongs to the shell); contrast >= 4.5:1 on its background
  const css = `.decision-banner { position: sticky; top: 0; z-index: 5; background: #fff4ce; color: #1a1d21;
    border: 2px solid #8a5a00; border-radius: 6px; padding: .6rem 1rem; margin: 0 0 1rem; font-weight: 600; }
  .decision-banner small { display: block; font-weight: 400; }
  .chart .sys { fill: #0b3d74; } .chart .dia { fill: #a4262c; }
  .chart .target { stroke: #1e6b33; stroke-width: 1.5; stroke-dasharray: 6 4; }`;
  document.head.append(h("style", { "data-page-style": "patient" }, css));
})();

function drugsLabel(drugs) {
  const parts = Object.entries(drugs || {}).map(([c, d]) => `${DRUG_SHORT[c] || c} ${DOSE_SHORT[d] || d}`);
  return parts.length ? parts.join(" + ") : "no drugs";
}
function band(p) { return `${fmt(p.median, 0)} [${fmt(p.lo90, 0)}–${fmt(p.hi90, 0)}]`; }

/** Home readings: systolic and diastolic points over time and the target lines. */
function readingsChart(readings, target) {
  const w = 720, hgt = 260, left = 48, right = 16, top = 16, bottom = 30;
  const t = readings.map((r) => Date.parse(r.time));
  const vals = readings.flatMap((r) => [r.systolic, r.diastolic]).filter((v) => typeof v === "number");
  const lo = Math.min(60, ...vals) - 5, hi = Math.max(160, ...vals) + 5;
  const x = scale(Math.min(...t), Math.max(...t), left, w - right), y = scale(lo, hi, hgt - bottom, top);
  const svg = chart(w, hgt, `Home blood pressure readings, ${readings.length} readings from ${when(readings[0].time)} to ${when(readings[readings.length - 1].time)}`
    + (target ? `; target below ${target.systolic}/${target.diastolic} mm Hg` : ""), { "data-chart": "bp-readings", "data-readings": readings.length });
  yAxis(svg, y, lo, hi, left, w - right);
  if (target) {
    for (const [k, v] of Object.entries(target)) {
      svg.append(s("line", { class: "target", x1: left, x2: w - right, y1: y(v), y2: y(v), "data-target": k }));
      svg.append(s("text", { x: w - right - 2, y: y(v) - 4, "text-anchor": "end" }, `target ${k} ${v}`));
    }
  }
  readings.forEach((r, i) => {
    for (const k of ["systolic", "diastolic"]) {
      if (typeof r[k] !== "number") continue;
      const attrs = { cx: x(t[i]).toFixed(1), cy: y(r[k]).toFixed(1), "data-series": k, "data-value": r[k], "data-time": r.time };
      svg.append(k === "systolic" ? s("circle", { class: "sys", r: 3, ...attrs }, s("title", {}, `${when(r.time)}: systolic ${r[k]}`))
        : s("rect", { class: "dia", x: x(t[i]) - 2.5, y: y(r[k]) - 2.5, width: 5, height: 5, "data-series": k, "data-value": r[k], "data-time": r.time }, s("title", {}, `${when(r.time)}: diastolic ${r[k]}`)));
    }
  });
  for (let i = 0; i <= 4; i++) {
    const at = t[0] + ((t[t.length - 1] - t[0]) * i) / 4;
    svg.append(s("text", { x: x(at), y: hgt - 10, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" }, new Date(at).toISOString().slice(0, 10)));
  }
  return svg;
}

/** Predicted usual pressure (``which``: systolic or diastolic) under each regimen: median and
 * 90% interval day by day. */
function trajectoryChart(which, trajectories, target) {
  const w = 560, hgt = 260, left = 48, right = 16, top = 16, bottom = 30;
  const all = trajectories.flatMap((tr) => tr.days.flatMap((d) => [d[which].lo90, d[which].hi90]));
  const lo = Math.min(target[which], ...all) - 5, hi = Math.max(target[which], ...all) + 5;
  const t = trajectories[0].days.map((d) => Date.parse(d.time));
  const x = scale(t[0], t[t.length - 1], left, w - right), y = scale(lo, hi, hgt - bottom, top);
  const svg = chart(w, hgt, `Predicted usual ${which} pressure under ${trajectories.length} regimens, medians and 90% intervals, against the target ${target[which]} mm Hg`,
    { "data-chart": "bp-trajectories", "data-which": which, "data-regimens": trajectories.length });
  yAxis(svg, y, lo, hi, left, w - right);
  svg.append(s("line", { class: "target", x1: left, x2: w - right, y1: y(target[which]), y2: y(target[which]), "data-target": which }));
  trajectories.forEach((tr, k) => {
    const colour = PATIENT_COLOURS[k % PATIENT_COLOURS.length];
    const pts = (key) => tr.days.map((d, i) => `${x(t[i]).toFixed(1)},${y(d[which][key]).toFixed(1)}`);
    const up = pts("hi90"), down = pts("lo90").reverse();
    svg.append(s("path", { d: `M${up.join("L")}L${down.join("L")}Z`, fill: colour, "fill-opacity": 0.12, "data-band": "90", "data-regimen": tr.regimen }));
    const last = tr.days[tr.days.length - 1][which];
    svg.append(s("path", { d: `M${pts("median").join("L")}`, fill: "none", stroke: colour, "stroke-width": 2, "stroke-dasharray": k ? null : "6 3",
      "data-band": "median", "data-regimen": tr.regimen, "data-last": last.median, "data-lo90": last.lo90, "data-hi90": last.hi90 }, s("title", {}, `${tr.regimen}: ${band(last)} at the end`)));
  });
  for (let i = 0; i <= 4; i++) {
    const at = t[0] + ((t[t.length - 1] - t[0]) * i) / 4;
    svg.append(s("text", { x: x(at), y: hgt - 10, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" }, new Date(at).toISOString().slice(0, 10)));
  }
  return svg;
}

/** 10-year ASCVD risk now and on the first regimen, as two bars. */
function riskChart(risk) {
  const w = 440, hgt = 110, left = 150, right = 60;
  const hi = Math.max(0.05, risk.before, risk.after) * 1.15;
  const x = scale(0, hi, left, w - right);
  const svg = chart(w, hgt, `10-year ASCVD risk: ${pct(risk.before, 1)} now, ${pct(risk.after, 1)} on the first regimen`, { "data-chart": "risk", "data-before": risk.before, "data-after": risk.after });
  [["now", risk.before, "#a4262c"], ["first regimen", risk.after, "#1e6b33"]].forEach(([name, v, colour], i) => {
    const yy = 14 + i * 44;
    svg.append(s("text", { x: left - 8, y: yy + 20, "text-anchor": "end" }, name));
    svg.append(s("rect", { x: left, y: yy, width: Math.max(1, x(v) - left), height: 28, fill: colour, "data-risk": name }));
    svg.append(s("text", { x: x(v) + 6, y: yy + 20 }, pct(v, 1)));
  });
  return svg;
}

async function pagePatient(root, signal) {
  const banner = h("div", { class: "decision-banner", role: "note", id: "patient-notice", "aria-label": "Decision support notice" },
    `${PATIENT_NOTICE}.`, h("small", { text: "Estimates from population trial data and this patient's home readings; a clinician decides." }));
  const readings = h("section", { "aria-labelledby": "pt-read-h" }, h("h3", { id: "pt-read-h", text: "Home readings" }));
  const rec = h("section", { "aria-labelledby": "pt-rec-h" }, h("h3", { id: "pt-rec-h", text: "Regimens and predicted pressure" }));
  root.append(banner, h("h2", { text: "Patient: blood pressure and treatment options" }), readings, rec);
  let target = null;
  let stored = [];
  try {
    const rd = await api(tw("/patient/readings"), { signal });
    if (rd.notice) banner.dataset.notice = rd.notice;
    readings.append(h("p", { class: "hint", text: `Patient ${rd.subject || "–"} (a pseudonym) · ${rd.readings.length} readings.` }));
    if (rd.readings.length) {
      readings.dataset.count = rd.readings.length;
      readings.append(h("p", { class: "legend" }, h("span", {}, "● systolic"), h("span", {}, "■ diastolic"), h("span", {}, "dashed green: target")));
      readings.append(h("div", { id: "pt-readings-chart", style: "max-width: 820px" }));
    } else {
      readings.append(h("p", { text: "No readings yet: a device posts them to …/patient/readings, or 'twinsight ingest NAME readings.csv'." }));
    }
    stored = rd.readings;
  } catch (e) { if (e.name === "AbortError") return; problem(readings, e); }
  try {
    const r = await api(tw("/patient/recommendation"), { signal });
    target = r.target;
    banner.dataset.notice = r.notice;
    const trs = r.trajectories;
    const named = new Map([[r.current.regimen, r.current.drugs], ...r.options.map((o) => [o.regimen, o.drugs])]);
    const nameOf = (label) => (named.has(label) ? drugsLabel(named.get(label)) : label);
    rec.append(h("p", {}, `Target: usual pressure below ${r.target.systolic}/${r.target.diastolic} mm Hg. Now on ${drugsLabel(r.current.drugs)}: `
      + `systolic ${band(r.current.systolic)}, diastolic ${band(r.current.diastolic)}, P(target) ${pct(r.current.p_target)}.`));
    rec.append(table("Regimens at full effect, fewest drugs and lowest doses first among those likely to reach the target (mm Hg, median [90% interval])",
      ["#", "Regimen", "Systolic", "Diastolic", "P(target)"],
      r.options.map((o, i) => [String(i + 1), drugsLabel(o.drugs), band(o.systolic), band(o.diastolic), pct(o.p_target)]), [0, 2, 3, 4]));
    rec.querySelector("table").id = "pt-options";
    rec.append(h("p", { class: "legend" }, trs.map((tr, k) => h("span", {},
      h("span", { class: "key", style: `background:${PATIENT_COLOURS[k % PATIENT_COLOURS.length]}` }), k ? `option: ${nameOf(tr.regimen)}` : `current (dashed): ${nameOf(tr.regimen)}`))));
    rec.append(h("div", { class: "grid" },
      h("figure", { class: "panel" }, h("figcaption", { text: "Predicted usual systolic pressure from the last reading" }), trajectoryChart("systolic", trs, r.target)),
      h("figure", { class: "panel" }, h("figcaption", { text: "Predicted usual diastolic pressure from the last reading" }), trajectoryChart("diastolic", trs, r.target))));
    const risk = r.risk_10y;
    rec.append(h("h3", { text: "10-year ASCVD risk (Pooled Cohort Equations)" }));
    if (typeof risk.before === "number" && typeof risk.after === "number") {
      rec.append(h("div", { style: "max-width: 480px" }, riskChart(risk)), h("p", { id: "pt-risk", text: `${pct(risk.before, 1)} now, ${pct(risk.after, 1)} on the first regimen (${risk.method || "at the predicted usual systolic pressure"}).` }));
    } else {
      rec.append(h("p", { id: "pt-risk", text: `Not computed: ${risk.note || "the profile is outside the equations' range"}.` }));
    }
    for (const w of r.warnings || []) rec.append(h("p", { class: "alarm", text: `Warning: ${w}` }));
    if (r.n_of_1) {
      const p = r.n_of_1;
      rec.append(h("p", {}, `N-of-1 trial suggested: ${p.why}. A = ${p.A}, B = ${p.B}, periods of ${p.period_days} days in the order ${p.sequence.join(" ")}; ${p.measure}.`));
    }
    rec.append(h("p", { class: "hint", text: `Sources: ${r.sources ? Object.values(r.sources).join("; ") : "–"}. Seed ${r.seed}.` }));
  } catch (e) {
    if (e.name === "AbortError") return;
    if (e.status === 403) rec.append(h("p", { class: "msg", text: "Regimens are shown to clinicians only: sign in with an analyst token." }));
    else problem(rec, e);
  }
  const holder = document.getElementById("pt-readings-chart");
  if (holder && stored.length) holder.append(readingsChart(stored, target));
}

PAGES.push("patient");
RENDER.patient = pagePatient;
