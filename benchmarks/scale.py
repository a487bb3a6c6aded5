"""Scale benchmark: the same replications on 1 and 2 workers, per executor; the speed-up.

For each engine (``reference``: SimPy, holds the GIL; ``fast``: numba, its kernel releases the
GIL), the same replications of examples/mmc.yaml run:

- in this process (the fast engine on 1 thread, then on 2 threads);
- on a local process pool of 1, then 2 workers;
- on a Dask LocalCluster of 1, then 2 worker processes (one thread each).

Pools and clusters are started and warmed (a tiny run: imports, the fast engine's cached
machine code) before the clock starts; their start-up is measured and printed on its own. Every
run is checked to give the same numbers as the in-process one.

    python benchmarks/scale.py            # about 2 minutes on 2 idle cores
    python benchmarks/scale.py --quick    # a quarter of the work

The last line of the output is one JSON object. See docs/scale.md for measured figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from twinsight import load_spec, run_experiment  # noqa: E402
from twinsight.engines.fast import FastEngine  # noqa: E402
from twinsight.experiment import ExperimentResult  # noqa: E402
from twinsight.scale import DaskExecutor, Executor, ProcessPool, RunTask, run_reps  # noqa: E402
from twinsight.spec import FlowSpec  # noqa: E402

#: (replications, horizon in minutes) per engine, full run: ~20-40 s of work on one core each.
WORK = {"reference": (16, 4_000.0), "fast": (32, 200_000.0)}
WARMUP = 200.0
SEED = 5


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the work")
    args = parser.parse_args()
    spec = load_spec(ROOT / "examples" / "mmc.yaml")
    out: dict[str, Any] = {"quick": args.quick, "engines": {}}
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
                start, ex = _timed(
                    lambda kind=kind, workers=workers: (
                        ProcessPool(workers)
                        if kind == "processes"
                        else DaskExecutor("local", workers)
                    )
                )
                try:
                    start += _warm(ex, spec)
                    seconds, result = _timed(
                        lambda ex=ex, e=engine, n=reps, h=horizon: _on(ex, spec, e, n, h)
                    )
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
    print(json.dumps(out))


if __name__ == "__main__":
    main()
