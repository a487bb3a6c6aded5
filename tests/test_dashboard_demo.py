"""``twinsight demo hospital``: the twin is made with its history, calibration, forecast and
tokens; served, the emulator's live feed reaches it over HTTP; run again, the twin is reused
and only newer events are left to stream; bad input is refused with exit 2."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from twinsight.cli import app as cli_app
from twinsight.govern import AccessStore
from twinsight.service.demo import DEMO_TWIN, prepare_demo, run_demo


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_twin_is_prepared_served_and_fed_live(tmp_path: Path) -> None:
    said: list[str] = []
    plan = prepare_demo(tmp_path, history_days=35, live_days=2, beds=100, reps=40,
                        backtest=False, say=said.append)  # fmt: skip
    assert plan.created and plan.live_rows and plan.twin == DEMO_TWIN
    folder = tmp_path / DEMO_TWIN
    assert (folder / "forecasts" / "latest.json").is_file()
    port, ready, stop = _free_port(), threading.Event(), threading.Event()
    server = threading.Thread(
        target=run_demo,
        args=(plan,),
        kwargs={
            "port": port,
            "speed": 500_000.0,
            "say": said.append,
            "ready": ready,
            "stop": stop,
        },
        daemon=True,
    )
    server.start()
    try:
        assert ready.wait(30), "the demo server did not start"
        url = f"http://127.0.0.1:{port}"
        admin = {"Authorization": f"Bearer {plan.admin_token}"}
        assert "Twinsight" in httpx.get(f"{url}/").text
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("feed is over" in s for s in said):
            time.sleep(0.2)
        assert any("feed is over" in s for s in said), said
        state = httpx.get(f"{url}/api/v1/twins/{DEMO_TWIN}/state", headers=admin).json()
        assert state["at"] >= str(plan.live_rows[-1]["time"])[:10]
    finally:
        stop.set()
        server.join(15)
    assert not server.is_alive()
    access = AccessStore(tmp_path)
    try:
        roles = {t.role: t.revoked_at for t in access.list() if t.id == plan.device_token_id}
    finally:
        access.close()
    assert roles["device"] is not None  # the emulator's token is revoked when the demo stops
    again = prepare_demo(tmp_path, history_days=35, live_days=2, beds=100, reps=40,
                         backtest=False, say=said.append)  # fmt: skip
    assert not again.created and len(again.live_rows) < len(plan.live_rows)


def test_demo_bad_input_exits_2_without_traceback(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli_app, ["demo", "ward", "--home", str(tmp_path)])
    assert result.exit_code == 2 and "there is no demo 'ward'" in result.output
    assert "Traceback" not in result.output
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(cli_app, ["demo", "hospital", "--port", str(port),
                                         "--home", str(tmp_path)])  # fmt: skip
    assert result.exit_code == 2 and "is in use" in result.output
