"""Scale benchmark: the same replications on 1 and 2 workers, per executor; the speed-up.

For each engine (``reference``: SimPy, holds the GIL; ``fast``: numba, its kernel releases the
GIL), the same replications of examples/mmc.yaml run:

- in this process (the fast engine on 1 thread, then on 2 threads);
- on a local process pool of 1, then 2 workers;
- on a Dask LocalCluster of 1, then 2 worker processes (one thread each).

Pools and clusters are started and warmed (a tiny run: imports, the fast engine's cached
machine code) before the clock starts; their start-up is measured and printed on its own. Every
run is checked to give the same numbers as the in-process one.

Then a comparison (``twinsight compare --spec``: examples/scenarios/staffing.yaml against two
scenarios, common random numbers) in this process and on a warm pool of 1 and 2 workers, per
engine, with the CPU time of this process and of the workers (psutil), so the ratios mean
something on a loaded machine too.

    python benchmarks/scale.py            # about 3 minutes on 2 idle cores
    python benchmarks/scale.py --quick    # a quarter of the work
    python benchmarks/scale.py --compare-only

The last line of the output is one JSON object. See docs/scale.md for measured figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from twinsight import load_spec, run_experiment  # noqa: E402
from twinsight.decide import compare, load_scenario, spec_variants  # noqa: E402
from twinsight.engines.fast import FastEngine  # noqa: E402
from twinsight.experiment import ExperimentResult  # noqa: E402
from twinsight.scale import DaskExecutor, Executor, ProcessPool, RunTask, run_reps  # noqa: E402
from twinsight.spec import FlowSpec  # noqa: E402

#: (replications, horizon in minutes) per engine, full run: ~20-40 s of work on one core each.
WORK = {"reference": (16, 4_000.0), "fast": (32, 200_000.0)}
WARMUP = 200.0
SEED = 5
SCENARIOS = ROOT / "examples" / "scenarios"
#: Replications per variant of the comparison, per engine (3 variants; full run).
COMPARE_REPS = {"reference": 12, "fast": 400}


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _same(a: ExperimentResult, b: ExperimentResult) -> bool:
    return all(np.array_equal(v, b.per_rep[k], equal_nan=True) for k, v in a.per_rep.items())


def _on(executor: Executor, spec: FlowSpec, engine: str, reps: int, horizon: float) -> Any:
    return run_experiment(spec, reps, SEED, engine, horizon=horizon, warmup=WARMUP,
                          executor=executor)  # fmt: skip


def _warm(executor: Executor, spec: FlowSpec) -> float:
    """Start the workers and load the engines there (one tiny chunk per worker)."""
    task = RunTask(spec, 0, "fast", 50.0, 5.0)
    elapsed, _ = _timed(lambda: run_reps(executor, task, range(executor.workers), chunk=1))
    return elapsed


def _worker_cpu(executor: ProcessPool) -> float:
    """CPU seconds (user + system) of the pool's worker processes so far (0 without psutil)."""
    try:
        import psutil  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - psutil comes with distributed
        return 0.0
    inner: Any = executor._pool
    pids = list(getattr(inner, "_processes", None) or {})
    return float(sum(sum(psutil.Process(pid).cpu_times()[:2]) for pid in pids))


def compare_case(quick: bool) -> dict[str, Any]:
    """A comparison of three variants in this process and on a warm pool of 1 and 2 workers:
    wall and CPU seconds, and the ratios to in process."""
    base = load_spec(SCENARIOS / "staffing.yaml")
    names = ("one-more-agent", "day-shift")
    scenarios = [load_scenario(SCENARIOS / f"staffing-{n}.yaml") for n in names]
    variants = spec_variants(base, scenarios)
    out: dict[str, Any] = {}
    for engine, reps in COMPARE_REPS.items():
        reps = max(4, reps // 4) if quick else reps
        print(f"== compare, {engine}: 3 variants x {reps} replications (staffing.yaml)")

        def run(where: Any, engine: str = engine, reps: int = reps) -> Any:
            return compare(variants, reps=reps, seed=SEED, engine=engine, executor=where)

        start = time.process_time()
        here_s, here = _timed(lambda: run("inprocess"))
        rows: dict[str, Any] = {"reps": reps, "inprocess": here_s,
                                "inprocess-cpu": time.process_time() - start}  # fmt: skip
        print(f"  in process:    {here_s:6.2f} s (CPU {rows['inprocess-cpu']:.2f} s)")
        for workers in (1, 2):
            with ProcessPool(workers) as pool:
                rows[f"processes-{workers}-startup"] = _warm(pool, base)
                cpu0, here0 = _worker_cpu(pool), time.process_time()
                seconds, got = _timed(partial(run, pool))
                cpu = _worker_cpu(pool) - cpu0 + time.process_time() - here0
            assert got.to_json() == here.to_json(), f"processes x{workers} gave other numbers"
            rows[f"processes-{workers}"] = seconds
            rows[f"processes-{workers}-cpu"] = cpu
            print(f"  processes x{workers}: {seconds:6.2f} s (CPU {cpu:.2f} s; x"
                  f"{here_s / seconds:.2f} of in process; start-up "
                  f"{rows[f'processes-{workers}-startup']:.2f} s not included)")  # fmt: skip
        rows["speedup-2-vs-inprocess"] = here_s / rows["processes-2"]
        rows["cpu-ratio-2-vs-inprocess"] = rows["processes-2-cpu"] / max(rows["inprocess-cpu"],
                                                                         1e-9)  # fmt: skip
        out[engine] = rows
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the work")
    parser.add_argument("--compare-only", action="store_true", help="only the comparison")
    args = parser.parse_args()
    spec = load_spec(ROOT / "examples" / "mmc.yaml")
    out: dict[str, Any] = {"quick": args.quick, "engines": {}}
    if args.compare_only:
        out["compare"] = compare_case(args.quick)
        print(json.dumps(out))
        return
    for engine, (reps, horizon) in WORK.items():
        if args.quick:
            reps = max(4, reps // 2)
            horizon /= 2
        print(f"== {engine}: {reps} replications of {horizon:g} min (M/M/3)")
        rows: dict[str, Any] = {}
        base = None
        for threads in (1, 2):
            eng = FastEngine(workers=threads) if engine == "fast" else None

            def here(
                eng: Any = eng, engine: str = engine, reps: int = reps, horizon: float = horizon
            ) -> Any:
                if eng is None:
                    return run_experiment(spec, reps, SEED, engine, horizon=horizon,
                                          warmup=WARMUP)  # fmt: skip
                return eng.run(spec, SEED, range(reps), horizon=horizon, warmup=WARMUP)

            if engine == "reference" and threads == 2:
                continue  # SimPy holds the GIL: threads would not help
            seconds, result = _timed(here)
            if isinstance(result, ExperimentResult):
                base = result
            rows[f"inprocess-{threads}"] = seconds
            print(f"  in process, {threads} thread(s): {seconds:6.2f} s")
        if base is None:
            base = run_experiment(spec, reps, SEED, engine, horizon=horizon, warmup=WARMUP)
        for kind in ("processes", "dask"):
            for workers in (1, 2):
                make: Callable[[], Executor] = (
                    partial(ProcessPool, workers)
                    if kind == "processes"
                    else partial(DaskExecutor, "local", workers)
                )
                start, ex = _timed(make)
                try:
                    start += _warm(ex, spec)
                    seconds, result = _timed(partial(_on, ex, spec, engine, reps, horizon))
                finally:
                    ex.close()
                assert _same(base, result), f"{kind} x{workers} gave other numbers"
                rows[f"{kind}-{workers}"] = seconds
                rows[f"{kind}-{workers}-startup"] = start
                print(f"  {kind:9} x{workers}: {seconds:6.2f} s  (start-up and warm-up "
                      f"{start:5.2f} s, not included)")  # fmt: skip
            speedup = rows[f"{kind}-1"] / rows[f"{kind}-2"]
            rows[f"{kind}-speedup"] = speedup
            print(f"  {kind}: speed-up from 1 to 2 workers x{speedup:.2f}")
        if engine == "fast":
            rows["threads-speedup"] = rows["inprocess-1"] / rows["inprocess-2"]
            print(f"  fast engine threads: speed-up from 1 to 2 x{rows['threads-speedup']:.2f}")
        out["engines"][engine] = {"reps": reps, "horizon": horizon, **rows}
    out["compare"] = compare_case(args.quick)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
