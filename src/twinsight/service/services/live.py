"""The live feed: the hospital's state sent to every subscriber each time new events are
committed to a twin (server-sent events, ``GET /twins/{name}/live``).

One watcher per twin (started by its first subscriber, stopped when the last leaves) polls the
store's newest event row every ``POLL_SECONDS`` (an indexed ``max(id)``: cheap); when it
changed, it rebuilds the state once (``current_state``, recent events only) and wakes every
subscriber. Whoever writes the events (this service's ingest, another process, a file
ingest) is seen the same way. Latency from commit to message: at most one poll interval plus
the state's rebuild (measured by ``benchmarks/live_latency.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import uvicorn
from fastapi import Request
from sqlalchemy import Engine, func, select
from starlette.concurrency import run_in_threadpool

from ...assimilate import ED, HospitalState, StateError, current_state
from ...calibrate import CalibrationError, load_calibration
from ...govern import DEFAULT_K, suppress, suppress_counts
from ...hospital import configured_beds
from ...hospital._ops import LINE
from ...store import AdtEventRow
from ..schemas_dashboard import LiveSnapshot
from .registry import TwinHandle

__all__ = [
    "BOARDING_HOURS",
    "POLL_SECONDS",
    "LiveHub",
    "LiveServer",
    "get_hub",
    "snapshot",
    "stop_live_feeds",
]

#: How often a watcher looks for new events, seconds.
POLL_SECONDS = 0.1
#: How often a watcher re-reads the beds per unit (``twin.yaml``, the calibration), seconds.
BEDS_SECONDS = 30.0
#: ED patients there this many hours or more are counted as boarding (the feed carries no
#: admission decision, so the usual 4-hour mark stands in for it).
BOARDING_HOURS = 4.0
log = logging.getLogger("twinsight.service")


def _newest(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.max(AdtEventRow.id))).scalar() or 0)


def _over(state: HospitalState, hours: float) -> int:
    return sum(1 for p in state.patients if p.unit == ED and p.in_unit_hours >= hours)


def _beds(handle: TwinHandle) -> dict[str, int]:
    beds = configured_beds(handle.twin)
    if beds:
        return beds
    with contextlib.suppress(CalibrationError):
        return {str(u): int(c) for u, c in load_calibration(handle.twin.path).capacity.items()}
    return {}


def snapshot(
    handle: TwinHandle, version: int, k: int = DEFAULT_K, beds: dict[str, int] | None = None
) -> LiveSnapshot | None:
    """The hospital at its latest event, counts suppressed below ``k`` (None: no events);
    ``beds`` per unit as given, else read now (``twin.yaml``, else the calibration)."""
    try:
        state = current_state(handle.twin.engine, recent_only=True)
    except StateError:
        return None
    beds = _beds(handle) if beds is None else beds
    units = sorted(set(state.census) | set(beds))
    census = {u: state.census.get(u, 0) for u in units}
    shown = suppress_counts(census, k)
    occupancy: dict[str, float | None] = {}
    for u in units:
        b = beds.get(u)
        occupancy[u] = round(census[u] / b, 4) if b and isinstance(shown[u], int) else None
    return LiveSnapshot(
        twin=handle.twin.name,
        version=version,
        at=state.at,
        events=state.events,
        census=shown,
        beds={u: beds.get(u) for u in units},
        occupancy=occupancy,
        line=LINE,
        in_ed=suppress(state.in_ed, k),
        boarding=suppress(_over(state, BOARDING_HOURS), k),
        sent_at=datetime.now(UTC),
    )


class _Watch:
    """One twin's watcher: the newest snapshot and who waits for the next."""

    def __init__(self) -> None:
        self.version = 0
        self.latest: LiveSnapshot | None = None
        self.changed = asyncio.Condition()
        self.subscribers = 0
        self.task: asyncio.Task[None] | None = None


class LiveHub:
    """The app's watchers, one per twin with subscribers."""

    def __init__(self, k: int = DEFAULT_K, poll: float = POLL_SECONDS) -> None:
        self.k = k
        self.poll = poll
        self.closing = False
        self._watches: dict[str, _Watch] = {}
        self._wakers: set[asyncio.Task[None]] = set()

    def close(self) -> None:
        """End every subscription (the server is stopping); call on the event loop."""
        self.closing = True
        for watch in self._watches.values():
            task = asyncio.get_running_loop().create_task(self._wake(watch))
            self._wakers.add(task)
            task.add_done_callback(self._wakers.discard)

    @staticmethod
    async def _wake(watch: _Watch) -> None:
        async with watch.changed:
            watch.changed.notify_all()

    async def _watch(self, handle: TwinHandle, watch: _Watch) -> None:
        seen = -1
        beds: dict[str, int] = {}
        read_at = -BEDS_SECONDS
        loop = asyncio.get_running_loop()
        while watch.subscribers > 0:
            try:
                newest = await run_in_threadpool(_newest, handle.twin.engine)
                if newest != seen:
                    if loop.time() - read_at >= BEDS_SECONDS:
                        beds, read_at = await run_in_threadpool(_beds, handle), loop.time()
                    snap = await run_in_threadpool(
                        snapshot, handle, watch.version + 1, self.k, beds
                    )
                    seen = newest
                    if snap is not None:
                        async with watch.changed:
                            watch.version, watch.latest = snap.version, snap
                            watch.changed.notify_all()
            except Exception as exc:  # the store hiccuped: keep watching
                log.warning("live %s: %s", handle.twin.name, type(exc).__name__)
            await asyncio.sleep(self.poll)

    async def subscribe(
        self, handle: TwinHandle, request: Request | None = None
    ) -> AsyncIterator[LiveSnapshot | None]:
        """The current snapshot, then one per change, until the client goes away; None after
        15 s without a change (a keep-alive)."""
        name = handle.twin.name
        watch = self._watches.setdefault(name, _Watch())
        watch.subscribers += 1
        if watch.task is None or watch.task.done():
            watch.task = asyncio.create_task(self._watch(handle, watch))
        sent = 0
        try:
            while True:
                async with watch.changed:
                    if watch.version <= sent:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(watch.changed.wait(), timeout=15.0)
                    latest = watch.latest
                if self.closing or (request is not None and await request.is_disconnected()):
                    return
                if latest is None or latest.version <= sent:
                    yield None
                    continue
                sent = latest.version
                yield latest
        finally:
            watch.subscribers -= 1


def get_hub(request: Request) -> LiveHub:
    """The app's live hub (made on first use, with the service's suppression k)."""
    hub = getattr(request.app.state, "live", None)
    if hub is None:
        k = int(getattr(request.app.state.settings, "suppress_k", DEFAULT_K))
        hub = request.app.state.live = LiveHub(k)
        request.app.state.live_loop = asyncio.get_running_loop()
    assert isinstance(hub, LiveHub)
    return hub


def stop_live_feeds(app: Any) -> None:
    """End the live feeds of ``app`` (a FastAPI app) so that a stopping server need not wait
    for them; safe to call from a signal handler or another thread."""
    hub = getattr(app.state, "live", None)
    loop = getattr(app.state, "live_loop", None)
    if isinstance(hub, LiveHub) and loop is not None and not loop.is_closed():
        loop.call_soon_threadsafe(hub.close)


class LiveServer(uvicorn.Server):
    """A uvicorn server that ends the app's live feeds when asked to stop (Ctrl+C, SIGTERM or
    ``should_exit``), so that open dashboards do not hold up the shutdown."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Stop as uvicorn does, after ending the live feeds."""
        stop_live_feeds(self.config.app)
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        """uvicorn's main-loop tick; ends the live feeds once ``should_exit`` is set."""
        if self.should_exit:
            stop_live_feeds(self.config.app)
        return await super().on_tick(counter)
