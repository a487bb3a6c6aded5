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

``--hospital``: the default executor (a process pool) against ``--executor inprocess`` on an
emulated 400-bed hospital twin (60 days of history, ~350 present patients): the ``twinsight``
commands themselves, each in a fresh process, as a user runs them -- a forecast of 7 days x
1000 replications, a comparison of 3 variants x 200 replications, and ``compare --spec``
(staffing.yaml, 3 x 400) -- with wall time and the CPU seconds of the command and every process
it starts (the pool's forkserver and workers, sampled with psutil), their ratios, and the
speed-up of the pool from 1 to 2 workers (``--workers 1``; whole commands, start-up included).

    python benchmarks/scale.py            # about 3 minutes on 2 idle cores
    python benchmarks/scale.py --quick    # a quarter of the work
    python benchmarks/scale.py --compare-only
    python benchmarks/scale.py --hospital [--repeat 3]   # the default pool vs in process

The last line of the output is one JSON object. See docs/scale.md for measured figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
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


def _command_cpu(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run a command; (wall seconds, CPU seconds of it and of every process it started),
    sampling the process tree every 20 ms (a process's last sample counts)."""
    import psutil

    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    seen: dict[int, float] = {}
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            tree = []
        for p in tree:
            with contextlib.suppress(psutil.Error):
                seen[p.pid] = sum(p.cpu_times()[:2])
        time.sleep(0.02)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {err[-1000:]}")
    return wall, sum(seen.values())


def _hospital_home(tmp: Path) -> Path:
    """An emulated 400-bed hospital twin 'bench' (60 days), ingested and calibrated."""
    from twinsight.emulate import emulate_hospital, write_events
    from twinsight.emulate._params import WARD_SHARES
    from twinsight.hospital import HospitalTwin

    home = tmp / "home"
    path = tmp / "history.csv"
    write_events(emulate_hospital(60, 3, beds=400).rows, path)
    with HospitalTwin("bench", home=home, create=True) as twin:
        config = twin.twin.path / "twin.yaml"
        beds = "".join(f"  {u}: {round(s * 400)}\n" for u, s in WARD_SHARES.items())
        config.write_text(config.read_text(encoding="utf-8") + "beds:\n" + beds, "utf-8")
        twin.ingest(path)
        twin.calibrate()
    return home


def hospital_case(repeat: int) -> dict[str, Any]:
    """The commands as a user runs them, default executor (a pool) against in process: wall,
    CPU of the whole process tree (each the best of ``repeat`` runs), and the ratios."""
    os.environ.setdefault("TWINSIGHT_PSEUDONYM_KEY", "ef" * 32)
    exe = str(Path(sys.executable).with_name("twinsight"))
    out: dict[str, Any] = {"load_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        home = _hospital_home(Path(tmp))
        where = ["--home", str(home), "--json"]
        hosp = ROOT / "examples" / "scenarios" / "hospital"
        cases = {
            "forecast 7 d x 1000": ["forecast", "bench", "--days", "7", "--reps", "1000"],
            "compare 3 x 200": ["compare", "bench", str(hosp / "open-beds.yaml"),
                                str(hosp / "divert.yaml"), "--reps", "200"],
            "compare --spec 3 x 400": [
                "compare", "--spec", str(SCENARIOS / "staffing.yaml"),
                str(SCENARIOS / "staffing-one-more-agent.yaml"),
                str(SCENARIOS / "staffing-day-shift.yaml"), "--reps", "400"],
        }  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k != "TWINSIGHT_EXECUTOR"}
        _command_cpu([exe, *cases["forecast 7 d x 1000"], *where, "--reps", "20"], env)  # warm
        for name, argv in cases.items():
            rows: dict[str, Any] = {}
            for label, extra in (("inprocess", ["--executor", "inprocess"]), ("default", []),
                                 ("pool-1", ["--workers", "1"])):  # fmt: skip
                runs = [_command_cpu([exe, *argv, *where, *extra], env) for _ in range(repeat)]
                wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
                rows[label] = {"wall": round(wall, 2), "cpu": round(cpu, 2)}
            rows["wall_ratio"] = round(rows["default"]["wall"] / rows["inprocess"]["wall"], 2)
            rows["cpu_ratio"] = round(rows["default"]["cpu"] / rows["inprocess"]["cpu"], 2)
            rows["speedup_1_to_2"] = round(rows["pool-1"]["wall"] / rows["default"]["wall"], 2)
            print(f"  {name:24s} in process {rows['inprocess']['wall']:6.2f} s wall, "
                  f"{rows['inprocess']['cpu']:6.2f} s CPU; default pool "
                  f"{rows['default']['wall']:6.2f} s, {rows['default']['cpu']:6.2f} s CPU: "
                  f"wall x{rows['wall_ratio']:.2f}, CPU x{rows['cpu_ratio']:.2f}; 1 -> 2 "
                  f"workers x{rows['speedup_1_to_2']:.2f} (1 worker: "
                  f"{rows['pool-1']['wall']:.2f} s)", flush=True)  # fmt: skip
            out[name] = rows
    out["load_after"] = os.getloadavg()[0]
    print(f"  load average {out['load_before']:.1f} before, {out['load_after']:.1f} after")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the work")
    parser.add_argument("--compare-only", action="store_true", help="only the comparison")
    parser.add_argument(
        "--hospital", action="store_true", help="only the commands: default pool vs in process"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per command (--hospital)")
    args = parser.parse_args()
    spec = load_spec(ROOT / "examples" / "mmc.yaml")
    out: dict[str, Any] = {"quick": args.quick, "engines": {}}
    if args.hospital:
        print("== the commands, default executor (a process pool) vs --executor inprocess")
        out = {"hospital": hospital_case(args.repeat)}
        print(json.dumps(out))
        return
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
