"""Ingest memory benchmark: is the process's RSS flat while a 10-million-event history goes in?

Writes a synthetic ADT history of ``--events`` events (default 10,000,000) as JSON Lines or CSV,
streamed to disk (never held in memory): patients arriving 2.5 minutes apart, each an ED
arrival, then an admission (about a third of them) and a discharge, with unique event ids and
plausible fields. Then ingests it into a fresh SQLite twin store with the real ingest path
(``twinsight.connect.ingest_path``, default batch size), while a thread samples the process's
resident memory (``VmRSS`` in ``/proc/self/status``) and the ingest's committed record count
(the ``ingests`` row, read through its own read-only connection) every second.

Reported: RSS when 10%, 20%, 50% and 100% of the events were committed (1M, 2M, 5M, 10M at the
default), the peak, events/s, and the verdict ``flat``: RSS grew by less than 50 MB from the
10% to the 100% mark.

    python benchmarks/ingest_memory.py                     # 10M events: ~1.5 GB file, minutes
    python benchmarks/ingest_memory.py --events 2000000    # smaller

The last line of the output is one JSON object. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from twinsight.connect import ingest_path  # noqa: E402
from twinsight.govern import Pseudonymiser  # noqa: E402
from twinsight.store import open_store  # noqa: E402

#: RSS growth (MB) from the first mark to the last below which memory counts as flat.
FLAT_MB = 50.0
MARKS = (0.1, 0.2, 0.5, 1.0)
WARDS = ("MED1", "MED2", "SURG", "ORTHO")
ORIGIN = datetime(2020, 1, 6, tzinfo=UTC)


def _stamp(minutes: float) -> str:
    return (ORIGIN + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_history(path: Path, events: int, fmt: str) -> int:
    """Stream ``events`` synthetic ADT events to ``path``; the number written."""
    written = 0
    patient = 0
    header = "v,event_id,type,time,unit,from_unit,patient_id,acuity,specialty,admission\n"
    with path.open("w", encoding="utf-8", buffering=1 << 20) as out:
        if fmt == "csv":
            out.write(header)
        while written < events:
            t = patient * 2.5
            pid = f"MRN{patient:09d}"
            acuity = 1 + patient % 5
            rows: list[tuple[str, str, str, str, str, str, str]] = [
                ("arrival", _stamp(t), "ED", "", str(acuity), "", "")
            ]
            if patient % 3 == 0:
                ward = WARDS[patient % len(WARDS)]
                specialty = "surgery" if ward in ("SURG", "ORTHO") else "medicine"
                rows.append(("admit", _stamp(t + 240 + patient % 97), ward, "ED", "", specialty,
                             "emergency"))  # fmt: skip
                rows.append(("discharge", _stamp(t + 4_320 + patient % 2_000), ward, "", "", "",
                             ""))  # fmt: skip
            else:
                rows.append(("discharge", _stamp(t + 180 + patient % 120), "ED", "", "", "", ""))
            for kind, when, unit, from_unit, acu, spec, adm in rows:
                if written >= events:
                    break
                eid = f"m-{written}"
                if fmt == "csv":
                    out.write(
                        f"1,{eid},{kind},{when},{unit},{from_unit},{pid},{acu},{spec},{adm}\n"
                    )
                else:
                    extra = ""
                    if from_unit:
                        extra += f', "from_unit": "{from_unit}"'
                    if acu:
                        extra += f', "acuity": {acu}'
                    if spec:
                        extra += f', "specialty": "{spec}", "admission": "{adm}"'
                    out.write(
                        f'{{"v": 1, "event_id": "{eid}", "type": "{kind}", "time": "{when}", '
                        f'"unit": "{unit}", "patient_id": "{pid}"{extra}}}\n'
                    )
                written += 1
            patient += 1
    return written


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Sampler(threading.Thread):
    """Every ``interval`` s: (seconds, RSS MB, records committed by the running ingest)."""

    def __init__(self, database: Path, interval: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.interval = interval
        self.samples: list[tuple[float, float, int]] = []
        self.stopped = threading.Event()
        self.start_time = time.perf_counter()

    def committed(self) -> int:
        try:
            conn = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=5)
        except sqlite3.Error:
            return 0
        try:
            row = conn.execute(
                "SELECT accepted + duplicate + quarantined FROM ingests ORDER BY id DESC LIMIT 1"
            ).fetchone()
        except sqlite3.Error:
            row = None
        finally:
            conn.close()
        return int(row[0]) if row else 0

    def sample(self) -> None:
        t = time.perf_counter() - self.start_time
        self.samples.append((t, _rss_mb(), self.committed()))

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            self.sample()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="events in the history")
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp)")
    args = parser.parse_args(argv)
    if args.events < 10:
        parser.error("--events must be at least 10")

    with tempfile.TemporaryDirectory(prefix="twinsight-ingest-mem-", dir=args.dir) as tmp:
        work = Path(tmp)
        path = work / f"history.{args.format}"
        t = time.perf_counter()
        count = write_history(path, args.events, args.format)
        print(
            f"wrote {count:,} events ({path.stat().st_size / 1e9:.2f} GB) in "
            f"{time.perf_counter() - t:.0f} s",
            file=sys.stderr,
        )
        database = work / "twin.db"
        engine = open_store(database)
        pseudonymise = Pseudonymiser(b"benchmark-secret-0123456789abcdef")
        sampler = Sampler(database)
        baseline = _rss_mb()
        sampler.start()
        t0 = time.perf_counter()
        c0 = time.process_time()
        try:
            report = ingest_path(path, engine, pseudonymise)
        finally:
            seconds = time.perf_counter() - t0
            cpu_seconds = time.process_time() - c0
            sampler.stopped.set()
            sampler.join()
            engine.dispose()
        sampler.sample()
        store_gb = sum(p.stat().st_size for p in work.glob("twin.db*")) / 1e9

    samples = sampler.samples
    marks: dict[str, float | None] = {}
    for share in MARKS:
        target = int(count * share)
        hit = next((rss for _, rss, done in samples if done >= target), None)
        marks[f"{target:,}"] = None if hit is None else round(hit, 1)
    values = [v for v in marks.values() if v is not None]
    growth = values[-1] - values[0] if len(values) >= 2 else float("nan")
    peak = max(rss for _, rss, _ in samples)
    rate = report.records / seconds
    print(f"baseline RSS before the ingest: {baseline:.1f} MB")
    for label, rss in marks.items():
        print(f"RSS at {label:>12} events committed: {rss} MB")
    print(f"peak RSS {peak:.1f} MB; growth first -> last mark {growth:+.1f} MB")
    print(
        f"{report.records:,} events ({report.accepted:,} accepted) in {seconds:.0f} s: "
        f"{rate:,.0f} events/s ({report.records / cpu_seconds:,.0f} per CPU-s of this process); "
        f"store {store_gb:.2f} GB"
    )
    flat = growth < FLAT_MB
    print(f"flat (growth < {FLAT_MB:.0f} MB): {'PASS' if flat else 'FAIL'}")
    summary: dict[str, Any] = {
        "events": count,
        "format": args.format,
        "rss_mb_at": marks,
        "baseline_mb": round(baseline, 1),
        "peak_mb": round(peak, 1),
        "growth_mb": round(growth, 1),
        "threshold_mb": FLAT_MB,
        "flat": flat,
        "events_per_s": round(rate),
        "seconds": round(seconds, 1),
        "events_per_cpu_s": round(report.records / cpu_seconds),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
