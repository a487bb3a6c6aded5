"""HTTP ingest benchmark: single-event POSTs per second with durable acknowledgements.

Starts a real ``twinsight serve`` (uvicorn, one process) on a free loopback port for a fresh
twin in a temporary home (SQLite in WAL mode with ``synchronous=FULL`` by default, or
PostgreSQL with ``--db URL``), then N client threads (httpx, keep-alive connections) post one
ADT event per request to ``POST /api/v1/twins/{name}/events`` as fast as the answers come. Each
200 means the event was committed before the answer. After a warm-up second, requests answered
200 during the measured window are counted; at the end the store is checked to hold every
acknowledged event.

    python benchmarks/http_ingest.py                  # 8 threads, 10 s
    python benchmarks/http_ingest.py --quick          # 4 threads, 3 s
    python benchmarks/http_ingest.py --threads 16 --seconds 20
    python benchmarks/http_ingest.py --db postgresql://postgres@127.0.0.1:5432/test

The clients run on the same machine as the server and share its cores: the figure is what
this machine does with both, not the server alone (the script prints the CPU used by each).
The last line of the output is one JSON object. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from twinsight.govern import AccessStore  # noqa: E402
from twinsight.store import AdtEventRow  # noqa: E402
from twinsight.twin import init_twin, open_twin  # noqa: E402

#: The later issue's goal: single-event requests per second on 2 cores, durable acks.
GOAL = 2_000
WARMUP_S = 1.0
TWIN = "bench"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Clients:
    """N threads posting single events; latencies of the answers in the measured window."""

    def __init__(self, url: str, threads: int) -> None:
        self.url = f"{url}/twins/{TWIN}/events"
        self.window: tuple[float, float] = (float("inf"), float("inf"))
        self.latencies: list[float] = []
        self.acked: list[str] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._post, args=(k,)) for k in range(threads)]

    def _post(self, worker: int) -> None:
        run = uuid.uuid4().hex[:8]
        auth = {"Authorization": f"Bearer {os.environ['TWINSIGHT_TOKEN']}"}  # set by main
        with httpx.Client(timeout=30, headers=auth) as client:
            i = 0
            while not self._stop.is_set():
                event_id = f"{run}-{worker}-{i}"
                event = {"v": 1, "event_id": event_id, "type": "arrival", "unit": "ED",
                         "time": f"2026-03-02T{i // 60 % 24:02d}:{i % 60:02d}:00Z",
                         "patient_id": f"B{worker}-{i}", "acuity": 3}  # fmt: skip
                t0 = time.perf_counter()
                response = client.post(self.url, json=event)
                t1 = time.perf_counter()
                with self._lock:
                    if response.status_code != 200 or response.json()["accepted"] != 1:
                        self.errors.append(f"{response.status_code} {response.text[:200]}")
                        return
                    self.acked.append(event_id)
                    if self.window[0] <= t1 <= self.window[1]:
                        self.latencies.append(t1 - t0)
                i += 1

    def run(self, seconds: float) -> float:
        """Post for ``WARMUP_S`` + ``seconds``; the measured window's length, seconds."""
        for thread in self._threads:
            thread.start()
        start = time.perf_counter() + WARMUP_S
        self.window = (start, start + seconds)
        time.sleep(WARMUP_S + seconds)
        self._stop.set()
        for thread in self._threads:
            thread.join()
        return seconds


def _device_token(home: Path) -> str:
    """A device token of the home (the service requires one; its rate limit is off here)."""
    access = AccessStore(home)
    try:
        return access.create("device", name="benchmark")[0]
    finally:
        access.close()


def _serve(home: Path, db: str | None) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    args = [sys.executable, "-m", "twinsight.cli", "serve", "--home", str(home)]
    args += ["--port", str(port), "--ingest-rate", "0"] + (["--db", db] if db else [])
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api/v1"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start within 60 s")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="client threads (8; quick 4)")
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds (10; 3)")
    parser.add_argument("--quick", action="store_true", help="4 threads for 3 s")
    parser.add_argument("--db", default=None, help="PostgreSQL URL instead of SQLite")
    args = parser.parse_args(argv)
    threads = args.threads or (4 if args.quick else 8)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    with tempfile.TemporaryDirectory(prefix="twinsight-http-bench-") as tmp:
        home = Path(tmp)
        init_twin(TWIN, home=home, db_url=args.db).close()
        os.environ["TWINSIGHT_TOKEN"] = _device_token(home)
        proc, url = _serve(home, args.db)
        clients = Clients(url, threads)
        try:
            cpu0, t0 = _cpu_seconds(proc.pid), time.perf_counter()
            client_cpu0 = time.process_time()
            window = clients.run(seconds)
            server_cpu = (_cpu_seconds(proc.pid) - cpu0) / (time.perf_counter() - t0)
            client_cpu = (time.process_time() - client_cpu0) / (time.perf_counter() - t0)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
        twin = open_twin(TWIN, home=home, db_url=args.db)
        try:
            with twin.engine.connect() as conn:
                stored = int(conn.execute(select(func.count()).select_from(AdtEventRow)).one()[0])
        finally:
            twin.close()
    if clients.errors:
        raise SystemExit(f"requests failed: {clients.errors[:3]}")
    measured = len(clients.latencies)
    rate = measured / window
    result = {
        "store": "postgresql" if args.db else "sqlite",
        "threads": threads,
        "seconds": window,
        "requests": measured,
        "requests_per_s": round(rate, 1),
        "p50_ms": round(_percentile(clients.latencies, 0.50) * 1000, 2),
        "p99_ms": round(_percentile(clients.latencies, 0.99) * 1000, 2),
        "server_cpu_per_s": round(server_cpu, 2),
        "clients_cpu_per_s": round(client_cpu, 2),
        "acknowledged": len(clients.acked),
        "stored": stored,
        "all_acknowledged_stored": stored >= len(clients.acked),
        "goal": GOAL,
        "goal_met": rate >= GOAL,
    }
    print(
        f"{result['store']}: {threads} client threads, {measured} single-event requests "
        f"acknowledged durably in {window:.1f} s = {rate:,.0f} requests/s "
        f"(p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms); CPU per wall second: "
        f"server {server_cpu:.2f}, clients {client_cpu:.2f} (2 cores in all); "
        f"{stored} of {len(clients.acked)} acknowledged events in the store; goal {GOAL}/s: "
        f"{'met' if result['goal_met'] else 'not met'}"
    )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
