"""HTTP ingest benchmark: single-event POSTs per second with durable acknowledgements.

Starts a real uvicorn server (a subprocess, one process: ``create_app`` as ``twinsight serve``
makes it, with httptools and uvloop when installed and the access log off) on a free loopback
port for a fresh twin in a temporary home (SQLite in WAL mode with ``synchronous=FULL`` by
default, or PostgreSQL with ``--db URL``), and a device token. The load generator is a lean
asyncio HTTP/1.1 client in this process: N keep-alive connections, each sending one request
after the other (request bytes pre-built, only the event id changes), one ADT event per request
to ``POST /api/v1/twins/{name}/events``. Each 200 means the event was committed before the
answer (group commit: concurrent requests share transactions). After a warm-up, the answers in
the measured window are counted; at the end the store is checked to hold every acknowledged
event.

    python benchmarks/http_ingest.py                    # 64 connections, 10 s, SQLite
    python benchmarks/http_ingest.py --quick            # 16 connections, 3 s
    python benchmarks/http_ingest.py --connections 128 --seconds 20
    python benchmarks/http_ingest.py --db postgresql://postgres@127.0.0.1:5432/test

The client runs on the same machine as the server and shares its cores: the figure is what
this machine does with both (the script prints the CPU used by each and the load average).
The last line of the output is one JSON object. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import select  # noqa: E402

from twinsight.govern import AccessStore  # noqa: E402
from twinsight.store import AdtEventRow  # noqa: E402
from twinsight.twin import init_twin, open_twin  # noqa: E402

#: Issue 5's goal: single-event requests per second on 2 cores, durable acks.
GOAL = 2_000
WARMUP_S = 2.0
TWIN = "bench"
_SERVER = """
import sys, uvicorn
from twinsight.service import ServiceSettings, create_app
home, port, db, http, loop, lane, access = sys.argv[1:8]
settings = ServiceSettings(home=home, db_url=db or None, ingest_rate=None)
app = create_app(settings)
app.state.fast_ingest = lane == "lane"
if access == "nolog":
    logging = dict(access_log=False, log_level="warning")
else:  # as `twinsight serve` logs ("all": every request, no filter)
    from twinsight.cli._serve import serve_log_config
    config = serve_log_config()
    if access == "all":
        del config["loggers"]["uvicorn.access"]["filters"]
    logging = dict(access_log=True, log_config=config)
uvicorn.run(app, host="127.0.0.1", port=int(port), http=http, loop=loop, **logging)
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _thread_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of process ``pid``'s main thread (the event loop) and of its other threads."""
    main = other = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # a thread that ended meanwhile
            continue
        seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        if task.name == str(pid):
            main += seconds
        else:
            other += seconds
    return main, other


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


class Load:
    """N keep-alive connections posting single events; latencies in the measured window."""

    def __init__(self, port: int, token: str, connections: int) -> None:
        self.port = port
        self.connections = connections
        self.run_id = uuid.uuid4().hex[:8]
        self.window = (float("inf"), float("inf"))
        self.latencies: list[float] = []
        self.acked: list[str] = []
        self.errors: list[str] = []
        self._stop = False
        self._head = (
            f"POST /api/v1/twins/{TWIN}/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        ).encode()

    def _request(self, event_id: str, minute: int) -> bytes:
        body = (
            f'{{"v":1,"event_id":"{event_id}","type":"arrival","unit":"ED",'
            f'"time":"2026-03-02T{minute // 60 % 24:02d}:{minute % 60:02d}:00Z",'
            f'"patient_id":"{event_id}","acuity":3}}'
        ).encode()
        return self._head + b"Content-Length: %d\r\n\r\n" % len(body) + body

    async def _connection(self, worker: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            i = 0
            while not self._stop:
                event_id = f"{self.run_id}-{worker}-{i}"
                t0 = time.perf_counter()
                writer.write(self._request(event_id, i))
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length)
                t1 = time.perf_counter()
                if not head.startswith(b"HTTP/1.1 200") or b'"accepted":1' not in body:
                    self.errors.append(f"{head[:15]!r} {body[:200]!r}")
                    return
                self.acked.append(event_id)
                if self.window[0] <= t1 <= self.window[1]:
                    self.latencies.append(t1 - t0)
                i += 1
        finally:
            writer.close()

    async def run(self, seconds: float) -> None:
        """Post for ``WARMUP_S`` + ``seconds`` on every connection."""
        start = time.perf_counter() + WARMUP_S
        self.window = (start, start + seconds)
        tasks = [asyncio.create_task(self._connection(k)) for k in range(self.connections)]
        await asyncio.sleep(WARMUP_S + seconds)
        self._stop = True
        await asyncio.gather(*tasks)


def _device_token(home: Path) -> str:
    """A device token of the home (the service requires one; its rate limit is off here)."""
    access = AccessStore(home)
    try:
        return access.create("device", name="benchmark")[0]
    finally:
        access.close()


def _serve(
    home: Path, db: str | None, http: str, loop: str, lane: bool = True, access: str = "nolog"
) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    profile = os.environ.get("TWINSIGHT_BENCH_PROFILE")  # a file: cProfile the server
    python = [sys.executable] + (["-m", "cProfile", "-o", profile] if profile else [])
    script = home / "serve.py"
    script.write_text(_SERVER, encoding="utf-8")
    args = [*python, str(script), str(home), str(port), db or "", http, loop]
    args += ["lane" if lane else "route", access]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    # with an access log, its lines (stdout) to a file, as a service manager would keep them
    log = open(home / "server.log", "wb") if access != "nolog" else None  # noqa: SIM115
    proc = subprocess.Popen(args, env=env, stdout=log)
    print(f"server pid {proc.pid}", file=sys.stderr, flush=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited before it answered")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                probe.sendall(
                    b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                )
                if probe.recv(64).startswith(b"HTTP/1.1 200"):
                    return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start within 90 s")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=None, help="keep-alive connections")
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds (10; 3)")
    parser.add_argument("--quick", action="store_true", help="16 connections for 3 s")
    parser.add_argument("--db", default=None, help="PostgreSQL URL instead of SQLite")
    parser.add_argument(
        "--access-log",
        choices=["serve", "all"],
        default=None,
        help="the server logs as `twinsight serve` does (serve: single events answered 200 "
        "left out of the access log; all: one line per request); default: no access log",
    )
    parser.add_argument(
        "--route",
        action="store_true",
        help="through FastAPI's route instead of the lean ingest lane (fastpath.py)",
    )
    args = parser.parse_args(argv)
    connections = args.connections or (16 if args.quick else 64)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    http = "httptools" if _installed("httptools") else "h11"
    loop = "uvloop" if _installed("uvloop") else "asyncio"
    with tempfile.TemporaryDirectory(prefix="twinsight-http-bench-") as tmp:
        home = Path(tmp)
        init_twin(TWIN, home=home, db_url=args.db).close()
        proc, port = _serve(
            home, args.db, http, loop, lane=not args.route, access=args.access_log or "nolog"
        )
        load = Load(port, _device_token(home), connections)
        try:
            load_before = os.getloadavg()[0]
            cpu0, t0, client0 = _cpu_seconds(proc.pid), time.perf_counter(), time.process_time()
            threads0 = _thread_cpu(proc.pid)
            asyncio.run(load.run(seconds))
            wall = time.perf_counter() - t0
            threads1 = _thread_cpu(proc.pid)
            server_seconds = _cpu_seconds(proc.pid) - cpu0
            server_cpu = server_seconds / wall
            client_cpu = (time.process_time() - client0) / wall
            load_after = os.getloadavg()[0]
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
        twin = open_twin(TWIN, home=home, db_url=args.db)
        try:
            with twin.engine.connect() as conn:
                stored = set(conn.execute(select(AdtEventRow.event_key)).scalars())
        finally:
            twin.close()
    if load.errors:
        raise SystemExit(f"requests failed: {load.errors[:3]}")
    missing = [e for e in load.acked if f"id:{e}" not in stored]
    measured = len(load.latencies)

    def per_request(cpu_seconds: float) -> float:
        return cpu_seconds / max(1, len(load.acked)) * 1000

    rate = measured / seconds
    result = {
        "store": "postgresql" if args.db else "sqlite",
        "path": "route" if args.route else "lane",
        "access_log": args.access_log,
        "connections": connections,
        "http": http,
        "loop": loop,
        "seconds": seconds,
        "requests": measured,
        "requests_per_s": round(rate, 1),
        "p50_ms": round(_percentile(load.latencies, 0.50) * 1000, 2),
        "p95_ms": round(_percentile(load.latencies, 0.95) * 1000, 2),
        "p99_ms": round(_percentile(load.latencies, 0.99) * 1000, 2),
        "server_cpu_per_s": round(server_cpu, 2),
        # load-robust: the server's CPU time over the whole run / the requests it acknowledged
        "server_cpu_ms_per_request": round(per_request(server_seconds), 3),
        "loop_thread_cpu_ms_per_request": round(per_request(threads1[0] - threads0[0]), 3),
        "other_threads_cpu_ms_per_request": round(per_request(threads1[1] - threads0[1]), 3),
        "client_cpu_per_s": round(client_cpu, 2),
        "load_average": [round(load_before, 1), round(load_after, 1)],
        "cores": os.cpu_count(),
        "acknowledged": len(load.acked),
        "acknowledged_missing": len(missing),
        "goal": GOAL,
        "goal_ratio": round(rate / GOAL, 2),
    }
    print(
        f"{result['store']} ({result['path']}"
        f"{f', access log {args.access_log}' if args.access_log else ''}): "
        f"{connections} keep-alive connections "
        f"({http}, {loop}), "
        f"{measured} single-event requests acknowledged durably in {seconds:.1f} s = "
        f"{rate:,.0f} requests/s (p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
        f"p99 {result['p99_ms']} ms); CPU per wall second: server {server_cpu:.2f} "
        f"({result['server_cpu_ms_per_request']} ms per request: event loop "
        f"{result['loop_thread_cpu_ms_per_request']}, other threads "
        f"{result['other_threads_cpu_ms_per_request']}), client "
        f"{client_cpu:.2f} ({os.cpu_count()} cores, load average {load_before:.1f} -> "
        f"{load_after:.1f}); {len(load.acked) - len(missing)} of {len(load.acked)} acknowledged "
        f"events in the store; {rate / GOAL:.2f} x the goal of {GOAL}/s"
    )
    print(json.dumps(result))
    if missing:
        raise SystemExit(f"{len(missing)} acknowledged events are not in the store")
    return result


if __name__ == "__main__":
    main()
