"""What the dashboard's browser tests share: Debian's Chromium (never a downloaded browser), the
app served by uvicorn on a free port, a laptop-sized page that records script errors, and the
screenshots kept in ``tests/artifacts/dashboard/`` (not in git)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from twinsight.service import ServiceSettings, create_app
from twinsight.service.services.live import LiveServer

__all__ = [
    "ARTIFACTS",
    "CHROMIUM",
    "free_port",
    "launch_chromium",
    "needs_chromium",
    "new_page",
    "screenshot",
    "serve",
]

CHROMIUM = os.environ.get("TWINSIGHT_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "dashboard"
needs_chromium = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None,
    reason=f"no Chromium at {CHROMIUM}: install Debian's with 'apt-get install -y chromium' "
    "(browsers are never downloaded)",
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(home: Path) -> Iterator[str]:
    """The service for the twins of ``home`` (no ingest rate limit) under uvicorn in a thread;
    its base URL. Stops it (live feeds first) on leaving."""
    import uvicorn

    port = free_port()
    settings = ServiceSettings(home=home, ingest_rate=None)
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                            log_level="warning", timeout_graceful_shutdown=1)  # fmt: skip
    server = LiveServer(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def launch_chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


def new_page(browser: Any) -> tuple[Any, Any, list[str]]:
    """A laptop-sized page (1366 x 768) in a context of its own: (context, page, the script
    errors it raises, filled in as they happen)."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


def screenshot(page: Any, name: str) -> None:
    """Keep a full-page screenshot as a test artefact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
