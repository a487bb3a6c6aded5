"""Flow-network benchmark: Twinsight (fast, reference) against hand-written SimPy and Ciw.

Runs the same two models through every tool in one go and prints, per model, a table of
entities per second of wall time (one core), the ratio to SimPy, the key statistics with 95%
confidence intervals, and whether the tools agree. The last line is one JSON object.

    python benchmarks/flow.py            # full run, a few minutes
    python benchmarks/flow.py --quick    # under a minute

See benchmarks/README.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scipy import stats as _st  # noqa: E402

from benchmarks import _ciw_models, _simpy_models  # noqa: E402
from benchmarks import _twinsight as ts  # noqa: E402
from benchmarks._common import Block, RepStats, ToolRun, erlang_c  # noqa: E402
from twinsight.spec import FlowSpec, load_spec  # noqa: E402

#: Goals: the fast engine's entities/s per core over hand-written SimPy's.
GOALS = {"mmc": 50.0, "hospital": 30.0}
#: A single-threaded tool with less CPU than this share of wall time was slowed by other work.
BUSY_WARN = 0.9
SIMPY, CIW, FAST, FAST_MC, REF = "simpy", "ciw", "fast", "fast_multicore", "reference"
LABELS = {
    FAST: "twinsight fast (1 core)",
    FAST_MC: "twinsight fast (all cores)",
    REF: "twinsight reference",
    SIMPY: "SimPy (hand-written)",
    CIW: "Ciw",
}


@dataclass
class ModelPlan:
    """One model of the benchmark and how long to run it."""

    key: str
    title: str
    spec: FlowSpec
    horizon: float
    warmup: float
    reps: int  # SimPy, Ciw and the reference engine
    fast_seconds: float  # wall time to aim at for the fast engine's timed run
    stats: dict[str, str]  # KPI name -> label
    simpy_rep: Callable[[int], RepStats]
    ciw_rep: Callable[[int], RepStats]
    ciw_simplified: bool
    exact: dict[str, float]
    compile_s: float = math.nan  # fast engine warm-up, measured during the run


def plans(quick: bool) -> list[ModelPlan]:
    """The two models, with horizons and replications for a quick or a full run."""
    mmc = load_spec(ROOT / "examples" / "mmc.yaml")
    hosp = load_spec(ROOT / "examples" / "hospital.yaml")
    p = _simpy_models.mmc_params(mmc)
    _, wq = erlang_c(p.lam, 1.0 / p.mean_service, p.servers)
    m_h, m_w = (5000.0, 500.0) if quick else (mmc.horizon, mmc.warmup)
    h_h, h_w = hosp.horizon, hosp.warmup
    unit_m, unit_h = mmc.time_unit.value, hosp.time_unit.value
    return [
        ModelPlan(
            "mmc", f"{mmc.name} (examples/mmc.yaml)", mmc, m_h, m_w, 6 if quick else 30,
            1.0 if quick else 4.0,
            {f"wait_mean[{p.station}]": f"mean wait at {p.station} ({unit_m})"},
            lambda s: _simpy_models.mmc_rep(p, s, m_h, m_w),
            lambda s: _ciw_models.mmc_rep(p, s, m_h, m_w),
            False,
            {f"wait_mean[{p.station}]": wq},
        ),
        ModelPlan(
            "hospital", f"{hosp.name} (examples/hospital.yaml)", hosp, h_h, h_w,
            8 if quick else 60, 1.0 if quick else 4.0,
            {
                "wait_mean[treatment]": f"mean wait at treatment ({unit_h})",
                "in_station_mean[medical_ward]": "medical-ward occupancy (patients)",
            },
            lambda s: _simpy_models.hospital_rep(hosp, s, h_h, h_w),
            lambda s: _ciw_models.hospital_rep(hosp, s, h_h, h_w),
            True,
            {},
        ),
    ]


def hand_blocks(rep: Callable[[int], RepStats], seed: int,
                stats: list[str]) -> Callable[[list[int]], Block]:
    """A function timing replications ``ids`` of a hand-written model on one core."""

    def block(ids: list[int]) -> Block:
        with ts.one_core():
            t0, c0 = time.perf_counter(), time.process_time()
            out = [rep(seed * 1_000_003 + r) for r in ids]
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        return Block(wall, cpu, sum(o.entities for o in out),
                     {k: [o.stats[k] for o in out] for k in stats})

    return block


def failed(tool: str, why: str) -> ToolRun:
    """A row for a tool that could not run."""
    return ToolRun(tool, math.nan, 0, 0, {}, why, ok=False)


def split(n: int, rounds: int, b: int) -> list[int]:
    """Replication numbers of round ``b`` when ``n`` replications are run in ``rounds``."""
    size = -(-n // rounds)
    return list(range(b * size, min(n, (b + 1) * size)))


def run_model(plan: ModelPlan, seed: int, rounds: int,
              log: Callable[[str], None]) -> dict[str, ToolRun]:
    """Every tool on one model, the tools' blocks of replications interleaved over ``rounds``
    rounds so that changing load on the machine hits them alike."""
    keys = list(plan.stats)
    runners: dict[str, tuple[Callable[[list[int]], Block], int]] = {
        SIMPY: (hand_blocks(plan.simpy_rep, seed, keys), plan.reps),
        CIW: (hand_blocks(plan.ciw_rep, seed, keys), plan.reps),
    }
    out: dict[str, ToolRun] = {}
    why = ts.available("reference")
    if why is None:
        runners[REF] = (ts.engine_blocks(plan.spec, "reference", seed, plan.horizon,
                                         plan.warmup, keys), plan.reps)
    else:
        out[REF] = failed(REF, f"MISSING (twinsight.engines.reference: {why})")
    why = ts.available("fast")
    if why is None:
        try:
            plan.compile_s = ts.warm_up(plan.spec, "fast")
            log(f"  {LABELS[FAST]}: warm-up (numba compile or cache load) "
                f"{plan.compile_s:.1f} s, not timed")
            fast = ts.engine_blocks(plan.spec, "fast", seed, plan.horizon, plan.warmup, keys)
            n_probe = max(1, plan.reps // rounds)
            probe = fast(list(range(n_probe)))  # calibration, not reported
            reps = ts.reps_for(plan.fast_seconds, probe.wall_s / n_probe, plan.reps, 20_000)
            reps = rounds * -(-reps // rounds)
            runners[FAST] = (fast, reps)
            if ts.cores() > 1:
                runners[FAST_MC] = (ts.engine_blocks(plan.spec, "fast", seed, plan.horizon,
                                                     plan.warmup, keys, single=False), reps)
        except Exception as exc:
            out[FAST] = failed(FAST, f"failed: {type(exc).__name__}: {exc}")
    else:
        out[FAST] = failed(FAST, f"MISSING (twinsight.engines.fast: {why})")

    blocks: dict[str, list[Block]] = {t: [] for t in runners}
    for b in range(rounds):
        for tool, (runner, n) in runners.items():
            if tool in out:
                continue
            ids = split(n, rounds, b)
            log(f"  round {b + 1}/{rounds}: {LABELS[tool]}, {len(ids)} reps ...")
            try:
                blocks[tool].append(runner(ids))
            except Exception as exc:
                out[tool] = failed(tool, f"failed: {type(exc).__name__}: {exc}")
    for tool in runners:
        if tool not in out:
            out[tool] = ToolRun.from_blocks(tool, blocks[tool], keys)
    if FAST_MC in out and out[FAST_MC].ok:
        out[FAST_MC].note = ts.parallel_note("fast")
    if plan.ciw_simplified and out[CIW].ok:
        out[CIW].note = "simplified model (see below)"
    return out


@dataclass
class Check:
    """Agreement of one statistic across tools."""

    stat: str
    agree: bool
    text: str


def check(plan: ModelPlan, runs: dict[str, ToolRun]) -> list[Check]:
    """Pairwise tests of the key statistics between the faithful tools (and Erlang C).

    Two estimates agree when their difference is within ``z * sqrt(se1^2 + se2^2)``, with ``z``
    the normal quantile for a family-wise 95% level (Bonferroni over the comparisons made).
    """
    out: list[Check] = []
    order = [FAST, REF, SIMPY, CIW]
    for stat in plan.stats:
        faithful = [t for t in order if t in runs and runs[t].ok and stat in runs[t].intervals
                    and not (t == CIW and plan.ciw_simplified)]
        pairs = [(a, b) for i, a in enumerate(faithful) for b in faithful[i + 1:]]
        exact = plan.exact.get(stat)
        n_tests = len(pairs) + (len(faithful) if exact is not None else 0)
        if n_tests == 0:
            out.append(Check(stat, False, f"{stat}: nothing to compare"))
            continue
        z = float(_st.norm.ppf(1 - 0.05 / (2 * n_tests)))
        worst, parts, ok = 0.0, [], True
        tests: list[tuple[str, float, float]] = []  # (label, diff, allowed)
        for a, b in pairs:
            ia, ib = runs[a].intervals[stat], runs[b].intervals[stat]
            tests.append((f"{a}-{b}", ia.mean - ib.mean, z * math.hypot(ia.se, ib.se)))
        if exact is not None:
            for t in faithful:
                iv = runs[t].intervals[stat]
                tests.append((f"{t}-exact", iv.mean - exact, z * iv.se))
        for label, diff, allowed in tests:
            good = abs(diff) <= allowed
            ok &= good
            worst = max(worst, abs(diff) / allowed if allowed > 0 else math.inf)
            parts.append(f"{label} {diff:+.4f} (allowed ±{allowed:.4f}{'' if good else ' FAIL'})")
        means = ", ".join(f"{t} {runs[t].intervals[stat].text()}" for t in faithful)
        if exact is not None:
            means += f", exact {exact:.4f}"
        missing = [t for t in (FAST, REF, SIMPY, CIW) if t not in faithful]
        skipped = f"; not compared: {', '.join(missing)}" if missing else ""
        text = (f"{stat}: {'agree' if ok else 'DISAGREE'} [{means}]; worst |diff|/allowed "
                f"{worst:.2f} (family 95%, z={z:.2f}){skipped}\n      " + "; ".join(parts))
        out.append(Check(stat, ok and len(faithful) >= 2, text))
    return out


def fmt(x: float, spec: str) -> str:
    """Format a number, or ``-`` for NaN."""
    return "-" if not math.isfinite(x) else format(x, spec)


def table(plan: ModelPlan, runs: dict[str, ToolRun]) -> list[str]:
    """The printed table of one model."""
    base = runs[SIMPY].entities_per_s if runs[SIMPY].ok else math.nan
    base_cpu = runs[SIMPY].entities_per_cpu_s if runs[SIMPY].ok else math.nan
    head = (f"{'tool':<27}{'reps':>6}{'entities':>11}{'wall s':>8}{'cpu/wall':>9}"
            f"{'entities/s':>12}{'vs SimPy':>9}{'per cpu-s':>11}{'vs SimPy':>9}")
    for label in plan.stats.values():
        head += f"  {label:>30}"
    lines = [head, "-" * len(head)]
    for tool in (FAST, FAST_MC, REF, SIMPY, CIW):
        if tool not in runs:
            continue
        r = runs[tool]
        if not r.ok:
            lines.append(f"{LABELS[tool]:<27}  {r.note}")
            continue
        eps = r.entities_per_s
        row = (f"{LABELS[tool]:<27}{r.reps:>6}{r.entities:>11}{fmt(r.wall_s, '.2f'):>8}"
               f"{fmt(r.busy_share, '.2f'):>9}{fmt(eps, ',.0f'):>12}"
               f"{fmt(eps / base, '.1f') + 'x':>9}{fmt(r.entities_per_cpu_s, ',.0f'):>11}"
               f"{fmt(r.entities_per_cpu_s / base_cpu, '.1f') + 'x':>9}")
        for k in plan.stats:
            row += f"  {r.intervals[k].text():>30}"
        if r.note:
            row += f"  ({r.note})"
        lines.append(row)
    for k, v in plan.exact.items():
        lines.append(f"{'exact (Erlang C)':<27}{'':>75}  {v:>30.4f}  [{k}]")
    busy = [LABELS[t] for t, r in runs.items()
            if r.ok and t != FAST_MC and r.busy_share < BUSY_WARN]
    if busy:
        lines.append(f"WARNING: other processes took CPU during {', '.join(busy)} (cpu/wall < "
                     f"{BUSY_WARN}); wall-clock rates are understated there, rerun on an idle "
                     "machine for clean figures")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the tables, checks, goals and the final JSON line."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short horizons and few replications")
    ap.add_argument("--seed", type=int, default=2024, help="experiment seed (default 2024)")
    args = ap.parse_args(argv)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    rounds = 2 if args.quick else 3
    t_start = time.perf_counter()
    print(f"Twinsight flow benchmark ({'quick' if args.quick else 'full'} run, seed {args.seed}, "
          f"{ts.cores()} cores available)")
    print("entities/s = entities that left the system in [warmup, horizon] (departures + "
          "reneged + balked) per wall second of whole replications, one core, numba compile "
          f"excluded; best of {rounds} interleaved rounds per tool. per cpu-s = all rounds, "
          "per CPU second of the process.")
    print(f"Goals: twinsight fast >= {GOALS['mmc']:.0f}x SimPy per core on M/M/c, "
          f">= {GOALS['hospital']:.0f}x on the hospital-like network.")
    result: dict[str, object] = {
        "mode": "quick" if args.quick else "full", "seed": args.seed, "rounds": rounds}
    speed: dict[str, float | None] = {}
    speed_mc: dict[str, float | None] = {}
    eps: dict[str, dict[str, float | None]] = {}
    agree: dict[str, bool] = {}
    goals_met: dict[str, bool | None] = {}
    busy: dict[str, list[str]] = {}
    speed_cpu: dict[str, float | None] = {}
    compile_s: dict[str, float | None] = {}
    for plan in plans(args.quick):
        log(f"{plan.key}: horizon {plan.horizon:g}, warmup {plan.warmup:g}")
        runs = run_model(plan, args.seed, rounds, log)
        print()
        print(f"== {plan.title}: horizon {plan.horizon:g} {plan.spec.time_unit.value}, "
              f"warmup {plan.warmup:g}; 95% CIs over replications")
        for line in table(plan, runs):
            print(line)
        if math.isfinite(plan.compile_s):
            print(f"fast engine warm-up before timing (numba compile or cache load, excluded): "
                  f"{plan.compile_s:.1f} s")
        if plan.ciw_simplified and runs[CIW].ok:
            print(f"note: {_ciw_models.HOSPITAL_SIMPLIFIED}")
        checks = check(plan, runs)
        for c in checks:
            print(f"CHECK {plan.key} {c.text}")
        agree[plan.key] = all(c.agree for c in checks)
        if plan.ciw_simplified and runs[CIW].ok:
            for stat in plan.stats:
                ic, iref = runs[CIW].intervals[stat], runs[SIMPY].intervals[stat]
                print(f"info  {plan.key} {stat}: Ciw (simplified) {ic.text()} vs SimPy "
                      f"{iref.text()}: not part of the agreement check")

        def ratio(tool: str, cpu: bool = False, runs: dict[str, ToolRun] = runs) -> float | None:
            r, b = runs.get(tool), runs[SIMPY]
            if r is None or not r.ok or not b.ok:
                return None
            x = r.entities_per_cpu_s / b.entities_per_cpu_s if cpu else (
                r.entities_per_s / b.entities_per_s)
            return round(x, 2) if math.isfinite(x) else None

        speed[plan.key], speed_mc[plan.key] = ratio(FAST), ratio(FAST_MC)
        speed_cpu[plan.key] = ratio(FAST, cpu=True)
        eps[plan.key] = {
            t: (round(r.entities_per_s, 1) if r.ok else None) for t, r in runs.items()
        }
        busy[plan.key] = sorted(t for t, r in runs.items()
                                if r.ok and t != FAST_MC and r.busy_share < BUSY_WARN)
        compile_s[plan.key] = None if math.isnan(plan.compile_s) else round(plan.compile_s, 2)
        s = speed[plan.key]
        goals_met[plan.key] = None if s is None else s >= GOALS[plan.key]
        verdict = "n/a (fast engine missing or failed)" if s is None else (
            f"{s:.1f}x -> {'MET' if s >= GOALS[plan.key] else 'NOT MET'}")
        extra = [f"per CPU second: {speed_cpu[plan.key]:.1f}x"] if speed_cpu[plan.key] else []
        if speed_mc[plan.key] is not None:
            extra.append(f"all cores: {speed_mc[plan.key]:.1f}x")
        print(f"GOAL  {plan.key}: fast >= {GOALS[plan.key]:.0f}x SimPy per core (wall clock): "
              f"{verdict}" + (f" ({'; '.join(extra)})" if extra else ""))
    print()
    print(f"total wall time {time.perf_counter() - t_start:.1f} s")
    result.update({
        "speedup_vs_simpy": speed,
        "speedup_vs_simpy_multicore": speed_mc,
        "speedup_vs_simpy_cpu_time": speed_cpu,
        "entities_per_s": eps,
        "agree": agree,
        "goals": GOALS,
        "goals_met": goals_met,
        "fast_engine": "present" if ts.available("fast") is None else "missing",
        "fast_warmup_s": compile_s,
        "cpu_contended": busy,
        "ciw_hospital": "simplified",
    })
    print(json.dumps(result, sort_keys=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
