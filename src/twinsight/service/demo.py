"""``twinsight demo hospital``: a hospital twin fed live by the emulator, with the dashboard.

``prepare_demo`` makes (or reuses) the twin ``demo-hospital`` in the home folder: the first
``history_days`` of an emulated hospital are ingested, the twin calibrated, a forecast made and
backtested;
an admin token (shown once) and a device token (for the emulator's stream) are created.
``run_demo`` then serves the app on 127.0.0.1 and streams the rest of the emulation into it
over HTTP at ``speed`` times real time (60: an hour of hospital a minute) until Ctrl-C.
Same seed, same hospital. See ``docs/dashboard.md``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..calibrate import CalibrationError, latest_event, load_calibration
from ..emulate import emulate_hospital, stream_http, write_events
from ..govern import AccessStore
from ..hospital import FORECASTS_DIR, calibrate, run_forecast
from ..twin import Twin, init_twin, open_twin, twin_home
from .schemas_dashboard import BacktestRequest
from .services.forecast import BACKTEST_FILE, backtest_job
from .services.live import LiveServer
from .services.registry import TwinHandle
from .settings import ServiceSettings

__all__ = ["DEMO_TWIN", "DemoPlan", "prepare_demo", "run_demo"]

#: The demo's twin, in the home folder.
DEMO_TWIN = "demo-hospital"
Say = Callable[[str], None]
Row = dict[str, Any]


@dataclass
class DemoPlan:
    """What the demo serves: the home, the admin token (shown once), the device token the
    emulator streams with, and the emulated rows still to stream (time order of the feed)."""

    home: Path
    twin: str
    admin_token: str
    device_token: str
    device_token_id: str
    live_rows: list[dict[str, Any]]
    created: bool


def _time(row: dict[str, Any]) -> datetime | None:
    try:
        t = datetime.fromisoformat(str(row.get("time", "")).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)  # a feed's local-time defect


def _split(rows: list[Row], at: datetime) -> tuple[list[Row], list[Row]]:
    """Rows up to ``at`` (the history) and after it (the live feed), by the feed clock."""
    clock: datetime | None = None
    before: list[Row] = []
    after: list[Row] = []
    for row in rows:
        t = _time(row)
        if t is not None and (clock is None or t > clock):
            clock = t
        (before if clock is None or clock <= at else after).append(row)
    return before, after


def _open(folder: Path) -> tuple[Twin, bool]:
    if (folder / DEMO_TWIN / "twin.yaml").is_file():
        return open_twin(DEMO_TWIN, home=folder), False
    return init_twin(DEMO_TWIN, "hospital", home=folder), True


def prepare_demo(
    home: Path | str | None = None,
    *,
    history_days: int = 70,
    live_days: int = 14,
    beds: int = 200,
    seed: int = 7,
    reps: int = 300,
    backtest: bool = True,
    say: Say = print,
) -> DemoPlan:
    """Make or reuse the demo twin (history ingested, calibrated, forecast) and its tokens."""
    folder = twin_home(home)
    folder.mkdir(parents=True, exist_ok=True)
    emulation = emulate_hospital(history_days + live_days, seed, beds=beds)
    start = datetime(2026, 1, 5, tzinfo=UTC)  # the emulator's default first day
    history, live = _split(emulation.rows, start + timedelta(days=history_days))
    twin, created = _open(folder)
    try:
        if created:
            say(f"twin '{DEMO_TWIN}' created in {folder}; ingesting {len(history)} events "
                f"({history_days} emulated days, {beds} beds)")  # fmt: skip
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "history.csv"
                write_events(history, path)
                twin.ingest([path])
        else:
            newest = latest_event(twin.engine)
            live = [r for r in live if (t := _time(r)) is None or t > newest]
            say(f"twin '{DEMO_TWIN}' reused from {folder} (events up to {newest:%Y-%m-%d %H:%M})")
        try:
            load_calibration(twin.path)
        except CalibrationError:
            say("calibrating…")
            calibrate(twin)
        if created or not (twin.path / FORECASTS_DIR / "latest.json").is_file():
            say(f"forecasting 7 days ({reps} replications)…")
            run_forecast(twin, 7.0, reps=reps, seed=seed)
        if backtest and not (twin.path / FORECASTS_DIR / BACKTEST_FILE).is_file():
            say("backtesting (3 weekly origins)…")
            handle = TwinHandle(twin)
            with contextlib.suppress(ValueError):  # a history too short for it: skip
                backtest_job(handle, BacktestRequest(origins=3, reps=60, seed=seed))
    finally:
        twin.close()
    access = AccessStore(folder)
    try:
        admin, _ = access.create("admin", name="demo dashboard")
        device, info = access.create("device", [DEMO_TWIN], name="demo emulator")
    finally:
        access.close()
    return DemoPlan(folder, DEMO_TWIN, admin, device, info.id, live, created)


def run_demo(
    plan: DemoPlan,
    *,
    port: int = 8000,
    speed: float = 60.0,
    say: Say = print,
    ready: threading.Event | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve the dashboard on 127.0.0.1:``port`` and stream the live rows into it at
    ``speed`` times real time, until Ctrl-C (or ``stop`` is set)."""
    import uvicorn

    from .app import create_app

    settings = ServiceSettings(home=plan.home, ingest_rate=None)
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                            log_level="warning", timeout_graceful_shutdown=2)  # fmt: skip
    server = LiveServer(config)
    halt = stop or threading.Event()
    url = f"http://127.0.0.1:{port}"

    def feed() -> None:
        while not server.started and not halt.is_set():
            halt.wait(0.05)
        if ready is not None:
            ready.set()
        say(f"streaming {len(plan.live_rows)} events at {speed:g}x real time")
        os.environ["TWINSIGHT_TOKEN"] = plan.device_token  # stream_http's bearer token
        try:
            counts = stream_http(plan.live_rows, url, plan.twin, speed=speed, stop=halt)
            over = "stopped" if halt.is_set() else "is over"
            say(f"the emulated feed {over}: {counts.accepted} events accepted")
        except Exception as exc:  # the server stopped under the stream
            if not halt.is_set():
                say(f"the live feed stopped: {exc}")

    def watch_stop() -> None:
        halt.wait()
        server.should_exit = True

    threading.Thread(target=feed, name="demo-feed", daemon=True).start()
    if stop is not None:
        threading.Thread(target=watch_stop, name="demo-stop", daemon=True).start()
    say(f"dashboard: {url}/  (sign in with the admin token above; Ctrl-C stops)")
    try:
        server.run()
    finally:
        halt.set()
        access = AccessStore(plan.home)
        try:
            access.revoke(plan.device_token_id)
        finally:
            access.close()
