"""Replay: feed a file's ADT events into the store as if live, at SPEED times real time.

The file is read in file order with the same readers (and the same validation, quarantine,
ingest row and resume position) as a plain ingest; before each record the replay waits until
``(t - t_first) / speed`` seconds of wall time have passed since it started, ``t`` being the
record's event time and ``t_first`` the first record's. Records are committed in small batches
(whatever was fed in the last ``max_commit_s`` seconds, and always before a wait), so a reader
of the store sees them arrive. Events out of time order are fed in file order (an event earlier
than one already fed goes in at once); a record without a readable time is fed at once (and
quarantined). A stopped replay (``stop`` set, Ctrl-C in the CLI) commits what it fed and leaves
its ingest resumable: the next ingest or replay of the same file goes on after the last record
fed. See ``docs/store.md``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from types import FrameType

from sqlalchemy import Engine

from ._batch import Batch, Context, Pseudonymise, Record, commit_batch
from ._files import (
    _FINGERPRINT_BYTES,
    IngestReport,
    _check_readable,
    _lines_before,
    _read_header,
    _records,
    _start,
    detect_format,
)
from ._parquet import ParquetReader

__all__ = ["ReplayReport", "replay_path", "stop_on_signals"]

#: Commit pending records before a wait at least this long (seconds of wall time).
_EAGER_S = 0.05
#: Longest single sleep (seconds), so a stop request is seen promptly.
_SLICE_S = 0.1
#: Most records in one commit.
_MAX_BATCH = 10_000

Feed = Callable[[Batch], None]


@dataclass(frozen=True)
class ReplayReport:
    """What a replay fed: the ingest's counts, and how the pacing went (seconds)."""

    ingest: IngestReport
    speed: float
    #: True when the replay was stopped before the end of the file.
    interrupted: bool
    #: Wall-clock seconds from the start of the replay to its last commit.
    elapsed_s: float
    #: Event time between the first and the latest paced record fed, seconds.
    span_s: float


@dataclass
class _Source:
    ctx: Context
    fmt: str
    resumed_from: int
    items: Iterator[tuple[object, Feed]]
    close: Callable[[], None]


def replay_path(
    path: Path,
    engine: Engine,
    pseudonymise: Pseudonymise,
    speed: float,
    *,
    stop: threading.Event | None = None,
    max_commit_s: float = 0.5,
) -> ReplayReport:
    """Feed ``path`` (CSV, JSON Lines or Parquet) into the store at ``speed`` x real time.

    ``speed`` 60 plays one hour of event time per minute. Setting ``stop`` (from another
    thread or a signal handler) ends the replay after committing what was fed. Raises
    ``ValueError`` for a speed that is not a positive number, ``IngestError`` for a file that
    cannot be read as ADT events.
    """
    if not (isinstance(speed, int | float) and math.isfinite(speed) and speed > 0):
        raise ValueError(f"the replay speed must be a positive number, got {speed}")
    stop = stop if stop is not None else threading.Event()
    source = _open(Path(path), engine, pseudonymise)
    totals = [0, 0, 0]
    batch = Batch([], [])
    started = time.monotonic()
    last_commit = started
    first: float | None = None
    span = 0.0
    interrupted = False

    def commit(final: bool = False) -> None:
        nonlocal batch, last_commit
        commit_batch(engine, source.ctx, batch, totals, final=final)
        batch = Batch([], [])
        last_commit = time.monotonic()

    try:
        for when, feed in source.items:
            instant = _seconds(when)
            if instant is not None:
                if first is None:
                    first = instant
                target = started + (instant - first) / speed
                while not stop.is_set():
                    now = time.monotonic()
                    delay = target - now
                    if delay <= 0:
                        break
                    pending = batch.events or batch.rejects
                    if pending and (delay >= _EAGER_S or now - last_commit >= max_commit_s):
                        commit()
                        continue
                    time.sleep(min(delay, _SLICE_S))
                span = max(span, instant - first)
            if stop.is_set():
                interrupted = True
                break
            feed(batch)
            if (
                len(batch.events) + len(batch.rejects) >= _MAX_BATCH
                or time.monotonic() - last_commit >= max_commit_s
            ):
                commit()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        source.close()
    commit(final=not interrupted)
    ctx = source.ctx
    report = IngestReport(
        ctx.source, source.fmt, totals[0], totals[1], totals[2], ctx.ingest_id, source.resumed_from
    )
    return ReplayReport(report, float(speed), interrupted, last_commit - started, span)


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT (Ctrl-C) or SIGTERM while the block runs (main thread only)."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _seconds(value: object) -> float | None:
    """Seconds since the epoch of an aware datetime or ISO 8601 text; None when unreadable."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        try:
            return value.timestamp()
        except (OverflowError, OSError, ValueError):
            return None
    return None


def _open(path: Path, engine: Engine, pseudonymise: Pseudonymise) -> _Source:
    _check_readable(path)
    fmt = detect_format(path)
    if fmt == "parquet":
        reader = ParquetReader(path, engine, pseudonymise)
        items = ((row.get("time"), partial(reader.add, index, row)) for index, row in reader.rows())
        return _Source(reader.ctx, fmt, reader.position, items, reader.close)
    handle = path.open("rb")
    try:
        fingerprint = hashlib.sha256(handle.read(_FINGERPRINT_BYTES)).hexdigest()
        handle.seek(0)
        header: list[str] | None = None
        body_start = 0
        if fmt == "csv":
            header, body_start = _read_header(handle, path)
        source = str(path.resolve())
        ingest_id, position = _start(engine, source, fingerprint, fmt, path.stat().st_size)
        start = max(position, body_start)
        line = _lines_before(handle, start)
        handle.seek(start)
    except BaseException:
        handle.close()
        raise
    is_sqlite = engine.dialect.name == "sqlite"
    ctx = Context(source, fingerprint, ingest_id, header, pseudonymise, is_sqlite)
    resumed_from = position if position > body_start else 0
    records = _records(handle, start, line, fmt)
    column = header.index("time") if header is not None and "time" in header else None
    items = ((_record_time(r, header, column), partial(ctx.add, r)) for r in records)
    return _Source(ctx, fmt, resumed_from, items, handle.close)


def _record_time(record: Record, header: list[str] | None, column: int | None) -> object:
    """The ``time`` value of a CSV or JSON Lines record (None when it cannot be read)."""
    try:
        text = record.data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if header is None:
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return None
        return value.get("time") if isinstance(value, dict) else None
    try:
        cells = next(csv.reader([text]))
    except (csv.Error, StopIteration):
        return None
    if column is None or len(cells) != len(header):
        return None
    return cells[column]
