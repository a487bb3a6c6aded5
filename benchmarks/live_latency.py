"""Live-update latency: seconds from posting an event to the dashboard's live feed sending the
state that includes it (goal: at most 1 s).

Starts a real ``twinsight serve`` (uvicorn, one process) on a free loopback port for a twin in
a temporary home holding ``--days`` emulated days of a ``--beds`` bed hospital (the state the
feed sends is rebuilt from them on every change), subscribes to
``GET /api/v1/twins/{name}/live`` (server-sent events) as the dashboard does, then posts
``--events`` single ADT events to ``POST .../events``, one at a time, ``--gap`` seconds apart.
For each: the time from sending the POST to its 200 (a durable commit) and to the arrival of
the next ``state`` message on the feed (the latency a person watching the dashboard sees, minus
drawing it).

    python benchmarks/live_latency.py                 # 200 events, 42 days, 200 beds
    python benchmarks/live_latency.py --quick         # 40 events

Client and server share the machine's cores. The last line of the output is one JSON object.
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
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402

from twinsight.calibrate import latest_event  # noqa: E402
from twinsight.emulate import emulate_hospital, write_events  # noqa: E402
from twinsight.govern import AccessStore  # noqa: E402
from twinsight.hospital import HospitalTwin  # noqa: E402

#: Issue 5's goal: seconds from ingest to the dashboard.
GOAL_S = 1.0
TWIN = "live"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    args = [sys.executable, "-m", "twinsight.cli", "serve", "--home", str(home),
            "--port", str(port), "--ingest-rate", "0"]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start within 60 s")


class Feed:
    """Reads the live feed in a thread; the arrival time (perf_counter) of each message."""

    def __init__(self, url: str, token: str) -> None:
        self.arrivals: list[tuple[float, int]] = []
        self.changed = threading.Condition()
        self._url = f"{url}/api/v1/twins/{TWIN}/live"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with httpx.stream("GET", self._url, headers=self._headers, timeout=None) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    version = int(json.loads(line[6:])["version"])
                    with self.changed:
                        self.arrivals.append((time.perf_counter(), version))
                        self.changed.notify_all()

    def count(self) -> int:
        with self.changed:
            return len(self.arrivals)

    def wait_after(self, count: int, timeout: float) -> float | None:
        """When message number ``count`` + 1 arrived (None if not within ``timeout``)."""
        with self.changed:
            self.changed.wait_for(lambda: len(self.arrivals) > count, timeout)
            return self.arrivals[count][0] if len(self.arrivals) > count else None


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--days", type=int, default=42)
    parser.add_argument("--beds", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.3, help="seconds between events")
    parser.add_argument("--quick", action="store_true", help="40 events")
    args = parser.parse_args(argv)
    n = 40 if args.quick else args.events
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        write_events(emulate_hospital(args.days, 3, beds=args.beds).rows, Path(tmp) / "ev.csv")
        with HospitalTwin(TWIN, home=home, create=True) as twin:
            twin.ingest(Path(tmp) / "ev.csv")
            twin.calibrate()
            start = latest_event(twin.twin.engine)
        access = AccessStore(home)
        try:
            viewer, _ = access.create("viewer")
            device, _ = access.create("device")
        finally:
            access.close()
        proc, url = _serve(home)
        commit, seen, missed = [], [], 0
        try:
            feed = Feed(url, viewer)
            if feed.wait_after(0, 30) is None:
                raise SystemExit("no first message on the live feed within 30 s")
            auth = {"Authorization": f"Bearer {device}"}
            with httpx.Client(headers=auth, timeout=30) as client:
                for i in range(n):
                    time.sleep(args.gap)
                    before = feed.count()
                    at = start + timedelta(minutes=i + 1)
                    event = {"v": 1, "event_id": f"live-{i}", "type": "arrival",
                             "unit": "ED", "time": at.isoformat(), "patient_id": f"L{i}",
                             "acuity": 3}  # fmt: skip
                    t0 = time.perf_counter()
                    response = client.post(f"{url}/api/v1/twins/{TWIN}/events", json=event)
                    t1 = time.perf_counter()
                    assert response.status_code == 200, response.text
                    arrived = feed.wait_after(before, 10.0)
                    commit.append(t1 - t0)
                    if arrived is None:
                        missed += 1
                    else:
                        seen.append(arrived - t0)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    result = {
        "benchmark": "live_latency",
        "events": n,
        "history_days": args.days,
        "beds": args.beds,
        "commit_median_s": round(_percentile(commit, 0.5), 4),
        "live_median_s": round(_percentile(seen, 0.5), 4) if seen else None,
        "live_p95_s": round(_percentile(seen, 0.95), 4) if seen else None,
        "live_max_s": round(max(seen), 4) if seen else None,
        "missed": missed,
        "goal_s": GOAL_S,
        "cpus": os.cpu_count(),
    }
    p95 = result["live_p95_s"]
    verdict = "meets" if p95 is not None and p95 <= GOAL_S and not missed else "misses"
    print(
        f"{n} events: committed in {result['commit_median_s']:.3f} s (median); on the live "
        f"feed after {result['live_median_s']} s median, {p95} s p95, {result['live_max_s']} s "
        f"max; {missed} missed; {verdict} the goal of {GOAL_S:g} s (p95)"
    )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
