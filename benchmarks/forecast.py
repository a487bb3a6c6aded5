"""Forecast benchmark: a full forecast refresh of a 600-bed hospital, and how right it is.

Goal (issue: the hospital twin): a forecast refresh for a 600-bed hospital, 1,000 replications
of 7 days from the present state, in <= 2 s on a 2-core machine. A "refresh" is what
``twinsight forecast`` does once the engine is compiled: rebuild the present from the store,
build the model from the saved calibration, run the replications, summarise the bands.

The script emulates a history (``--days``, default 180) of a ``--beds`` hospital, ingests it
into a fresh twin, calibrates, runs one small forecast (compiles the engine), then times
``--repeat`` refreshes. The same forecast spec is run with the SimPy reference engine for a few
replications to give a per-replication ratio (the peer here is the SimPy implementation of the
same run contract). ``--backtest N`` also runs a rolling-origin backtest with N weekly origins
and prints its scores against the two baselines.

    python benchmarks/forecast.py                   # refresh timing (about 2 minutes)
    python benchmarks/forecast.py --backtest 8      # and the backtest (several more minutes)

The last line of the output is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from twinsight.assimilate import current_state  # noqa: E402
from twinsight.calibrate import load_calibration  # noqa: E402
from twinsight.emulate import emulate_hospital, write_events  # noqa: E402
from twinsight.emulate._params import WARD_SHARES  # noqa: E402
from twinsight.experiment import run_experiment  # noqa: E402
from twinsight.forecast._build import model_from_calibration  # noqa: E402
from twinsight.hospital import HospitalTwin, run_backtest, run_forecast  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--beds", type=int, default=600)
    parser.add_argument("--days", type=int, default=180, help="days of emulated history")
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--horizon-days", type=float, default=7.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reference-reps", type=int, default=10)
    parser.add_argument("--backtest", type=int, default=0, help="origins (0: no backtest)")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("TWINSIGHT_PSEUDONYM_KEY", "ef" * 32)

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        em = emulate_hospital(args.days, args.seed, beds=args.beds)
        path = Path(tmp) / "history.csv"
        write_events(em.rows, path)
        with HospitalTwin("bench", home=Path(tmp) / "home", create=True) as twin:
            beds = {u: round(share * args.beds) for u, share in WARD_SHARES.items()}
            config = twin.twin.path / "twin.yaml"
            config.write_text(
                config.read_text(encoding="utf-8") + "beds:\n"
                + "".join(f"  {u}: {n}\n" for u, n in beds.items()),
                encoding="utf-8",
            )  # fmt: skip
            twin.ingest(path)
            twin.calibrate()
            setup = time.perf_counter() - t0
            print(f"setup (emulate {args.days} days, ingest, calibrate): {setup:.1f} s")
            t0 = time.perf_counter()
            run_forecast(twin.twin, 1, reps=20, save=False)
            print(f"first forecast (compiles the engine): {time.perf_counter() - t0:.1f} s")
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                run = run_forecast(twin.twin, args.horizon_days, reps=args.reps)
                times.append(time.perf_counter() - t0)
            best = min(times)
            present = sum(run.state.census.values())
            print(
                f"refresh: {args.reps} replications x {args.horizon_days:g} days from "
                f"{present} present patients: best {best:.2f} s of {args.repeat} "
                f"({', '.join(f'{t:.2f}' for t in times)}); goal <= 2 s: "
                f"{'PASS' if best <= 2.0 else 'FAIL'}"
            )
            # the peer: the SimPy reference engine on the same spec, per replication
            model = model_from_calibration(load_calibration(twin.twin.path), beds)
            state = current_state(twin.twin.engine)
            spec = model.spec(state, args.horizon_days)
            n = args.reference_reps
            t0 = time.perf_counter()
            run_experiment(spec, n, 1, "reference")
            ref = (time.perf_counter() - t0) / n
            t0 = time.perf_counter()
            run_experiment(spec, 10 * n, 1, "fast")
            fast = (time.perf_counter() - t0) / (10 * n)
            print(
                f"per replication: fast {1000 * fast:.1f} ms, SimPy reference "
                f"{1000 * ref:.1f} ms: fast is {ref / fast:.0f}x"
            )
            out = {
                "beds": args.beds,
                "reps": args.reps,
                "days": args.horizon_days,
                "present_patients": present,
                "refresh_s": round(best, 3),
                "goal_s": 2.0,
                "pass": best <= 2.0,
                "ms_per_rep_fast": round(1000 * fast, 2),
                "ms_per_rep_reference": round(1000 * ref, 2),
            }
            if args.backtest:
                t0 = time.perf_counter()
                bt = run_backtest(twin.twin, origins=args.backtest, reps=200).summary()
                print(
                    f"backtest ({bt['origins']} origins x {bt['days']:g} days, "
                    f"{time.perf_counter() - t0:.0f} s): MAE {bt['mae']:.2f} vs last value "
                    f"{bt['baselines']['last_value']['mae']:.2f}, same hour last week "
                    f"{bt['baselines']['same_hour_last_week']['mae']:.2f}; 90% coverage "
                    f"{100 * bt['coverage_90']:.1f}%, 50% coverage {100 * bt['coverage_50']:.1f}%"
                )
                out["backtest"] = {k: bt[k] for k in ("mae", "coverage_90", "coverage_50")}
                out["backtest"]["baselines"] = bt["baselines"]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
