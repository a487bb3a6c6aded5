"""Compare scenarios with a baseline from the same present, with common random numbers.

Every variant (the baseline and each scenario) runs the same replication numbers with the same
seed: replication ``i`` draws from the streams of ``i`` in every variant (ADR 0002). On a
hospital twin the calibration's uncertainty (the level of the arrival rates, each unit's mean
stay; as in the forecast) is drawn once per replication from ``(seed, i)``, the same draw in
every variant, so replications stay independent and identically distributed and the pairing is
exact however many replications are added. Differences are taken replication by replication
(paired), so the noise the variants share cancels; each difference gets a Student-t interval.
With precision targets, replications are added until every targeted difference is as narrow as
asked.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ..assimilate import ED, HospitalState
from ..experiment import replications_needed, t_interval
from ..forecast import HospitalModel
from ..forecast._forecast import _discharge_times
from ..forecast._model import ED_4H, TIME_TO_BED
from ..scale import Executor
from ..spec import FlowSpec
from ._apply import apply_to_model, apply_to_spec
from ._compare_run import _Runner, _Runs
from ._scenario import Scenario, close_names

__all__ = [
    "Comparison",
    "KpiDef",
    "PairedTarget",
    "Variant",
    "compare",
    "hospital_variants",
    "spec_variants",
]

#: The occupancy line bed managers plan against (share of beds).
LINE = 0.85
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class KpiDef:
    """A compared KPI: its key, words for a manager, its unit; ``share`` KPIs print as %."""

    key: str
    label: str
    unit: str
    share: bool = False


@dataclass
class Variant:
    """The baseline or a scenario: the flow spec it runs (before each replication's draw of the
    parameters) and, on a hospital twin, its model."""

    name: str
    description: str
    spec: FlowSpec
    model: HospitalModel | None = None
    scenario: Scenario | None = None


def hospital_variants(
    model: HospitalModel,
    state: HospitalState,
    scenarios: Sequence[Scenario],
    days: float,
    interval: float = 1.0,
) -> list[Variant]:
    """The baseline and each scenario from ``state`` for ``days`` days."""
    base = model.spec(state, days, interval=interval)
    out = [Variant("baseline", "the twin as it is", base, model)]
    for sc in scenarios:
        m = apply_to_model(model, sc)
        spec = base if m is model else m.spec(state, days, interval=interval)
        out.append(Variant(sc.name, sc.description, apply_to_spec(spec, sc, hospital=True), m, sc))
    return out


def spec_variants(spec: FlowSpec, scenarios: Sequence[Scenario]) -> list[Variant]:
    """The baseline and each scenario of a plain flow spec."""
    out = [Variant("baseline", spec.name, spec)]
    out += [Variant(sc.name, sc.description, apply_to_spec(spec, sc), None, sc) for sc in scenarios]
    return out


@dataclass(frozen=True)
class PairedTarget:
    """A precision target for the paired differences: ``kpi`` (a key, or ``all``) and the
    half-width (the KPI's unit, or a share of the baseline mean when ``relative``)."""

    kpi: str
    half_width: float
    relative: bool = False

    @classmethod
    def parse(cls, text: str) -> PairedTarget:
        """``boarding=0.5`` (absolute), ``boarding=5%`` (of the baseline mean), ``all=5%``."""
        kpi, sep, value = text.rpartition("=")
        value = value.strip()
        if not sep or not kpi.strip() or not value:
            raise ValueError(
                f"precision {text!r}: write KPI=HALF_WIDTH, e.g. boarding=0.5 or all=5%"
            )
        relative = value.endswith("%")
        try:
            number = float(value.rstrip("%"))
        except ValueError:
            raise ValueError(f"precision {text!r}: {value!r} is not a number") from None
        if number <= 0:
            raise ValueError(f"precision {text!r}: the half-width must be positive")
        return cls(kpi.strip(), number / 100 if relative else number, relative)

    def absolute(self, baseline: np.ndarray) -> float:
        """The target half-width in the KPI's unit."""
        if not self.relative:
            return self.half_width
        mean = float(np.nanmean(baseline)) if np.isfinite(baseline).any() else 0.0
        return self.half_width * abs(mean) if mean else math.inf


def _hospital_kpis(
    v: Variant, runs: _Runs, days: float, start: datetime, interval: float
) -> tuple[list[KpiDef], dict[str, np.ndarray]]:
    assert v.model is not None
    r = {k: np.asarray(x, dtype=float) for k, x in runs.per_rep.items()}
    units = list(v.model.units)
    defs = [
        KpiDef("ed_4h", "ED 4-hour performance", "%", share=True),
        KpiDef("boarding", "ED boarding", "hours a day"),
        KpiDef("time_to_bed", "mean time to bed", "hours"),
        KpiDef("cancellations", "elective cancellations", f"patients in {days:g} days"),
    ]
    out = {
        "ed_4h": r[f"journey_within_target[{ED_4H}]"],
        "boarding": np.nan_to_num(r[f"held_mean[{ED}]"]) * r[f"served[{ED}]"] / days,
        "time_to_bed": r[f"journey_mean[{TIME_TO_BED}]"],
        "cancellations": np.sum([r[f"balked[{u}]"] for u in units], axis=0),
    }
    samples = {k[len("occupancy[") : -1]: np.vstack(x) for k, x in runs.series.items()}
    _discharge_times(v.model, start, interval, samples)
    for u in units:
        beds = v.model.units[u].beds
        defs.append(KpiDef(f"occupancy[{u}]", f"{u} occupancy", "patients"))
        defs.append(KpiDef(f"over85[{u}]", f"time {u} is over 85% full", "hours a day"))
        out[f"occupancy[{u}]"] = samples[u].mean(axis=1)
        out[f"over85[{u}]"] = (samples[u] > LINE * beds).mean(axis=1) * 24.0
    return defs, out


def _spec_kpis(
    v: Variant, runs: _Runs, keys: Sequence[str]
) -> tuple[list[KpiDef], dict[str, np.ndarray]]:
    r = {k: np.asarray(x, dtype=float) for k, x in runs.per_rep.items()}
    unit = v.spec.time_unit.value
    chosen = list(keys)
    if not chosen:
        chosen = ["wait_mean", "wait_within_target", "time_in_system_mean"]
        if any(s.patience or s.patience_by_class for s in v.spec.stations.values()):
            chosen.append("abandon_share")
        for j in v.spec.kpis.journeys:
            chosen += [f"journey_mean[{j}]", f"journey_within_target[{j}]"]
        chosen += [f"utilisation[{res}]" for res in v.spec.resources]
    defs = []
    for k in chosen:
        if k not in r and not keys:
            continue  # a default this spec does not report (no wait target)
        if k not in r:
            close = close_names(k, list(r))
            raise ValueError(f"no KPI '{k}' in this spec{close}")
        share = k.startswith(("utilisation", "wait_within_target", "abandon_share",
                              "journey_within_target"))  # fmt: skip
        timed = k.startswith(("wait_m", "wait_p", "time_in_system", "journey_mean", "journey_p"))
        defs.append(KpiDef(k, _label(k), "%" if share else (unit if timed else ""), share=share))
    return defs, {d.key: r[d.key] for d in defs}


_LABELS = {
    "wait_mean": "the mean wait",
    "wait_within_target": "the share waiting within target",
    "time_in_system_mean": "the mean time in system",
    "abandon_share": "the share abandoning",
}


def _label(key: str) -> str:
    if key in _LABELS:
        return _LABELS[key]
    name, _, inside = key.partition("[")
    inside = inside.rstrip("]")
    if name == "utilisation" and inside:
        return f"{inside} utilisation"
    if name == "journey_mean" and inside:
        return f"the mean {inside}"
    if name == "journey_within_target" and inside:
        return f"the share of {inside} within target"
    return key


@dataclass
class Comparison:
    """Per-replication KPI values of every variant (paired by replication) and their summary."""

    variants: list[Variant]
    kpis: list[KpiDef]
    values: list[dict[str, np.ndarray]]
    reps: int
    seed: int
    confidence: float = 0.95
    targets: list[PairedTarget] = field(default_factory=list)
    precision_met: bool | None = None

    def difference(self, scenario: int, kpi: str) -> np.ndarray:
        """Scenario minus baseline, replication by replication (NaN where either is NaN)."""
        return np.asarray(self.values[scenario][kpi] - self.values[0][kpi], dtype=float)

    def frame(self) -> pd.DataFrame:
        """One row per scenario and KPI: scenario, kpi, label, unit, baseline, value (the
        scenario's mean), difference, low, high (its CI), n, sentence. Shares are fractions."""
        rows = []
        out = self.to_json()
        for row in out["kpis"]:
            for name, e in row["scenarios"].items():
                d = e["difference"]
                rows.append(
                    {
                        "scenario": name,
                        "kpi": row["key"],
                        "label": row["label"],
                        "unit": row["unit"],
                        "baseline": row["baseline"]["mean"],
                        "value": e["mean"],
                        "difference": d["mean"],
                        "low": d["low"],
                        "high": d["high"],
                        "n": d["n"],
                        "sentence": e["sentence"],
                    }
                )
        return pd.DataFrame(rows)

    def to_json(self) -> dict[str, Any]:
        """Every KPI: the baseline's interval, each scenario's, and the paired difference's,
        with the sentence a manager reads."""
        rows = []
        for k in self.kpis:
            base = t_interval(self.values[0][k.key], self.confidence)
            entry: dict[str, Any] = {"key": k.key, "label": k.label, "unit": k.unit,
                                     "baseline": _iv(base), "scenarios": {}}  # fmt: skip
            for s, v in enumerate(self.variants[1:], start=1):
                own = t_interval(self.values[s][k.key], self.confidence)
                diff = t_interval(self.difference(s, k.key), self.confidence)
                entry["scenarios"][v.name] = {
                    **_iv(own),
                    "difference": _iv(diff),
                    "sentence": sentence(v, k, base.mean, own.mean, diff),
                }
            rows.append(entry)
        return {
            "baseline": self.variants[0].name,
            "scenarios": [
                {
                    "name": v.name,
                    "description": v.description,
                    "interventions": [iv.describe() for iv in v.scenario.interventions]
                    if v.scenario
                    else [],
                }
                for v in self.variants[1:]
            ],
            "reps": self.reps,
            "seed": self.seed,
            "confidence": self.confidence,
            "precision_met": self.precision_met,
            "kpis": rows,
        }


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _iv(iv: Any) -> dict[str, Any]:
    return {"mean": _num(iv.mean), "half_width": _num(iv.half_width),
            "low": _num(iv.low), "high": _num(iv.high), "n": iv.n}  # fmt: skip


def _places(half_width: float, k: KpiDef) -> int:
    """Decimal places that show the interval's half-width to two significant digits (0-3)."""
    hw = abs(half_width) * (100.0 if k.share else 1.0)
    if not math.isfinite(hw) or hw <= 0:
        return 1
    return min(3, max(0, 1 - math.floor(math.log10(hw))))


def _n(x: float, k: KpiDef, places: int) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{(100.0 if k.share else 1.0) * x:.{places}f}"


def sentence(v: Variant, k: KpiDef, base: float, scen: float, diff: Any) -> str:
    """``Open 6 beds on MED1 cuts ED boarding from 41.2 to 12.3 hours a day (by 28.9 hours a
    day, 95% CI 26.8-31.0).`` -- or ``makes no clear change`` when the interval spans 0.
    Numbers are rounded to two significant digits of the interval's half-width."""
    who = v.description if v.description and len(v.description) <= 60 else f"'{v.name}'"
    who = who.rstrip(".")
    pct = "%" if k.share else ""
    unit = "" if k.share else f" {k.unit}".rstrip()
    by_unit = " points" if k.share else unit
    ci = f"{round(100 * diff.confidence)}% CI"
    p = _places(diff.half_width, k)
    pair = f"{_n(base, k, p)}{pct} to {_n(scen, k, p)}{pct}{unit}"
    if not (math.isfinite(diff.low) and math.isfinite(diff.high)):
        return f"{who}: {k.label} from {pair} (too few replications for an interval)."
    if diff.low <= 0 <= diff.high:
        lo, hi = _n(diff.low, k, p), _n(diff.high, k, p)
        return (f"{who} makes no clear change to {k.label}: {pair} ({ci} of the change {lo} "
                f"to {hi}{by_unit}).")  # fmt: skip
    verb = "cuts" if diff.mean < 0 else "raises"
    lo, hi = sorted((abs(diff.low), abs(diff.high)))
    return (f"{who} {verb} {k.label} from {pair} (by {_n(abs(diff.mean), k, p)}{by_unit}, "
            f"{ci} {_n(lo, k, p)}-{_n(hi, k, p)}).")  # fmt: skip


def compare(
    variants: list[Variant],
    *,
    reps: int = 200,
    seed: int = 1,
    engine: str = "fast",
    rate_cv: float = 0.0,
    days: float | None = None,
    start: datetime | None = None,
    interval: float = 1.0,
    kpis: Sequence[str] = (),
    targets: Sequence[PairedTarget] = (),
    max_reps: int = 5000,
    chunk: int = 100,
    confidence: float = 0.95,
    progress: Progress | None = None,
    executor: Executor | str | None = None,
    workers: int | None = None,
) -> Comparison:
    """Run every variant with the same seed and replication numbers; with ``targets``, add
    replications (``reps`` is the pilot) until every targeted paired difference is as narrow as
    asked or ``max_reps`` is reached. Hospital variants need ``days`` and ``start`` (the
    state's instant); ``rate_cv`` and the model's ``los_se``: the calibration's uncertainty,
    drawn per replication. Same arguments -> the same numbers.

    ``executor``: where the replications run (``twinsight.scale``: an executor object, kept
    open, or a name -- ``inprocess`` (None), ``processes``, ``dask``, ``auto``; one started
    here serves every batch and is stopped at the end). Each batch of ``chunk`` replications
    per variant (the pilot, then each step of the precision loop) is one set of jobs on it.
    The numbers do not depend on the executor."""
    if reps < 2:
        raise ValueError("reps must be at least 2 (a paired interval needs two)")
    hospital = variants[0].model is not None
    if hospital and (days is None or start is None):
        raise ValueError("hospital variants need days and start")
    runner = _Runner([(v.spec, v.model) for v in variants], seed, engine, rate_cv,
                     executor, workers)  # fmt: skip
    try:
        return _compare(runner, variants, reps, seed, days, start, interval, kpis, targets,
                        max_reps, chunk, confidence, progress)  # fmt: skip
    finally:
        runner.close()


def _compare(
    runner: _Runner,
    variants: list[Variant],
    reps: int,
    seed: int,
    days: float | None,
    start: datetime | None,
    interval: float,
    kpis: Sequence[str],
    targets: Sequence[PairedTarget],
    max_reps: int,
    chunk: int,
    confidence: float,
    progress: Progress | None,
) -> Comparison:
    hospital = variants[0].model is not None

    def grow(total: int, goal: int) -> None:
        while runner.reps < total:
            runner.run(min(chunk, total - runner.reps))
            if progress is not None:
                progress(runner.reps, goal)

    def summarise() -> Comparison:
        defs: list[KpiDef] = []
        values = []
        for v, runs in zip(variants, runner.runs, strict=True):
            if hospital:
                assert days is not None and start is not None
                defs, vals = _hospital_kpis(v, runs, days, start, interval)
            else:
                defs, vals = _spec_kpis(v, runs, kpis)
            values.append(vals)
        return Comparison(variants, defs, values, runner.reps, seed, confidence, list(targets))

    grow(reps, reps)
    result = summarise()
    if not targets:
        return result
    known = {k.key for k in result.kpis}
    for t in targets:
        if t.kpi != "all" and t.kpi not in known:
            raise ValueError(
                f"precision: no compared KPI '{t.kpi}' (KPIs: {', '.join(sorted(known))})"
            )
    while True:
        needed = _needed(result, targets, confidence)
        if needed <= result.reps or result.reps >= max_reps:
            break
        goal = min(max(needed, result.reps + 1), max_reps)
        grow(goal, goal)
        result = summarise()
    result.precision_met = _needed(result, targets, confidence) <= result.reps
    return result


def _needed(result: Comparison, targets: Sequence[PairedTarget], confidence: float) -> int:
    """Replications the targeted differences need (the current count when all are met)."""
    need = result.reps
    for t in targets:
        keys = [k.key for k in result.kpis] if t.kpi == "all" else [t.kpi]
        for key in keys:
            goal = t.absolute(result.values[0][key])
            for s in range(1, len(result.variants)):
                d = result.difference(s, key)
                d = d[np.isfinite(d)]
                if len(d) < 2 or not math.isfinite(goal):
                    continue
                if t_interval(d, confidence).half_width > goal:
                    need = max(need, replications_needed(d, goal, confidence))
    return need
