"""Ingest benchmark: ADT events per second from a file into the embedded store (SQLite).

Generates a realistic ADT file with ``twinsight.emulate.emulate_hospital`` (default defects, so a
few records are quarantined), writes it as CSV, JSON Lines and Parquet, and ingests each (with
``twinsight.connect.ingest_path``) into a fresh SQLite twin store (WAL, ``synchronous=FULL``:
every batch is durable before it is counted) in a temporary directory. Reported: events/s of
the first ingest (all new) and of a replay of the same file (all duplicate), best of 3 (each
first ingest in a fresh store); alongside, the first ingest's CPU time per event
(``time.process_time``: what other processes on the machine change least), the bytes it wrote
per event (``wchar`` of ``/proc/self/io``, Linux; WAL pages, checkpoints), and the load average.

    python benchmarks/ingest.py            # ~200,000 events per file
    python benchmarks/ingest.py --quick    # ~50,000 events per file
    python benchmarks/ingest.py --batch-size 25000   # another commit batch size

The last line of the output is one JSON object. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from twinsight.connect import ingest_path  # noqa: E402
from twinsight.emulate import emulate_hospital, write_events  # noqa: E402
from twinsight.govern import Pseudonymiser  # noqa: E402
from twinsight.store import open_store  # noqa: E402

GOAL = 50_000
REPEATS = 3
#: About 570 events a day at the default 400 beds.
DAYS = {"full": 400, "quick": 90}


def _written() -> int | None:
    """Bytes this process has written so far (``wchar``), None where /proc/self/io is absent."""
    try:
        with open("/proc/self/io", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("wchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _run(path: Path, work: Path, index: int, batch_size: int | None) -> dict[str, Any]:
    engine = open_store(work / f"store-{path.suffix[1:]}-{index}.sqlite")
    pseudonymise = Pseudonymiser(b"benchmark-secret-0123456789abcdef")
    options = {} if batch_size is None else {"batch_size": batch_size}
    try:
        w0 = _written()
        c0 = time.process_time()
        t0 = time.perf_counter()
        first = ingest_path(path, engine, pseudonymise, **options)
        t1 = time.perf_counter()
        c1 = time.process_time()
        w1 = _written()
        replay = ingest_path(path, engine, pseudonymise, **options)
        t2 = time.perf_counter()
    finally:
        engine.dispose()
    assert replay.accepted == 0 and replay.duplicate == first.accepted + first.duplicate
    return {
        "records": first.records,
        "accepted": first.accepted,
        "quarantined": first.quarantined,
        "first_s": t1 - t0,
        "first_cpu_s": c1 - c0,
        "first_bytes": None if w0 is None or w1 is None else w1 - w0,
        "replay_s": t2 - t1,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="~50,000 events instead of ~200,000")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--batch-size", type=int, default=None, help="records per commit (default: the package's)"
    )
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"

    t = time.perf_counter()
    rows = emulate_hospital(DAYS[mode], args.seed).rows
    print(f"emulated {len(rows):,} rows in {time.perf_counter() - t:.1f} s", file=sys.stderr)

    first_rate: dict[str, float] = {}
    cpu_rate: dict[str, float] = {}
    replay_rate: dict[str, float] = {}
    cpu_us: dict[str, float] = {}
    written: dict[str, float | None] = {}
    with tempfile.TemporaryDirectory(prefix="twinsight-ingest-bench-") as tmp:
        work = Path(tmp)
        for fmt in ("csv", "jsonl", "parquet"):
            path = work / f"events.{fmt}"
            write_events(rows, path)
            size = path.stat().st_size
            runs = [_run(path, work, i, args.batch_size) for i in range(REPEATS)]
            records = runs[0]["records"]
            best_first = min(r["first_s"] for r in runs)
            best_replay = min(r["replay_s"] for r in runs)
            first_rate[fmt] = records / best_first
            cpu_rate[fmt] = records / min(r["first_cpu_s"] for r in runs)
            replay_rate[fmt] = records / best_replay
            cpu_us[fmt] = 1e6 * min(r["first_cpu_s"] for r in runs) / records
            sizes = [r["first_bytes"] for r in runs if r["first_bytes"] is not None]
            written[fmt] = min(sizes) / records if sizes else None
            print(
                f"{fmt:7}  {records:,} records ({runs[0]['quarantined']:,} quarantined), "
                f"{size / 1e6:.1f} MB   first ingest {first_rate[fmt]:>9,.0f} events/s "
                f"({best_first:.2f} s)   replay {replay_rate[fmt]:>9,.0f} events/s "
                f"({best_replay:.2f} s)   best of {REPEATS}; first ingest per CPU-s "
                f"{cpu_rate[fmt]:,.0f} ({cpu_us[fmt]:.1f} us/event), "
                f"{written[fmt] or float('nan'):,.0f} bytes written/event"
            )

    summary = {
        "mode": mode,
        "ingest_events_per_s": {k: round(v) for k, v in first_rate.items()},
        "ingest_events_per_cpu_s": {k: round(v) for k, v in cpu_rate.items()},
        "replay_events_per_s": {k: round(v) for k, v in replay_rate.items()},
        "ingest_cpu_us_per_event": {k: round(v, 2) for k, v in cpu_us.items()},
        "ingest_bytes_written_per_event": {
            k: None if v is None else round(v) for k, v in written.items()
        },
        "batch_size": args.batch_size,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "goal": GOAL,
        "goal_met": all(v >= GOAL for v in first_rate.values()),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
