"""The twins a service has open: each opened on first use, with one record sink and a lock.

A request that stores records takes the twin's lock, adds its records to the twin's long-lived
``RecordSink`` and commits (one transaction, durable before the answer), so concurrent requests
to a twin are serialised and each gets its own counts; the whole server shares one ingest
(``ingests`` row) per twin, not one per request. A failed commit throws the sink away with its
pending records (they were never acknowledged: the client retries), and the next request opens
a fresh sink. All of this is blocking work: run it in a worker thread, not on the event loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from ...connect import BatchCounts, RecordSink
from ...govern import PseudonymKeyError
from ...twin import Twin, TwinError, open_twin, twin_home
from ..problems import ProblemError
from ..settings import ServiceSettings

__all__ = ["SINK_SOURCE", "TwinHandle", "TwinInfo", "TwinRegistry"]

#: ``source`` of every HTTP sink: a bad record posted again is quarantined once.
SINK_SOURCE = "http"
_CONFIG = "twin.yaml"
log = logging.getLogger("twinsight.service")


@dataclass(frozen=True)
class TwinInfo:
    """A twin found in the home folder (its ``twin.yaml`` read, its store not opened)."""

    name: str
    template: str
    store: str


@dataclass
class TwinHandle:
    """An open twin, its write lock and its record sink (made on the first write)."""

    twin: Twin
    lock: threading.Lock = field(default_factory=threading.Lock)
    _sink: RecordSink | None = None

    def write(
        self,
        fill: Callable[[RecordSink], None],
        hook: Callable[[Connection, int], None] | None = None,
    ) -> tuple[BatchCounts, int]:
        """Under the lock: ``fill(sink)`` adds records, then one commit; (counts, ingest id).

        ``hook(conn, accepted)`` runs inside the commit's transaction (``RecordSink.commit``).
        """
        with self.lock:
            sink = self._sink
            if sink is None:
                sink = self._sink = self.twin.sink(SINK_SOURCE, "http")
            try:
                fill(sink)
                counts = sink.commit(hook)
            except BaseException:
                self._sink = None  # its pending records were not acknowledged: drop them
                raise
            return counts, sink.ingest_id

    def close(self) -> None:
        """Mark the sink's ingest done and release the store's connections."""
        with self.lock:
            sink, self._sink = self._sink, None
            try:
                if sink is not None and sink.pending == 0:
                    sink.close()
            except SQLAlchemyError as exc:
                log.warning(
                    "twin %s: closing its ingest failed (%s)", self.twin.name, type(exc).__name__
                )
            finally:
                self.twin.close()


def _read_config(path: Path) -> dict[str, Any] | None:
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return config if isinstance(config, dict) and "template" in config else None


class TwinRegistry:
    """Twins of one home folder, opened lazily and kept open until ``close``."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.home = twin_home(settings.home)
        self._db_url = settings.db_url
        self._twins: dict[str, TwinHandle] = {}
        self._lock = threading.Lock()

    @property
    def open_count(self) -> int:
        """How many twins have their store open."""
        return len(self._twins)

    def list(self) -> list[TwinInfo]:
        """The twins in the home folder, by name (folders without a valid twin.yaml skipped)."""
        if not self.home.is_dir():
            return []
        found = []
        for folder in sorted(self.home.iterdir()):
            config = _read_config(folder / _CONFIG) if folder.is_dir() else None
            if config is not None:
                store = "url" if config.get("store") == "url" else "sqlite"
                found.append(TwinInfo(folder.name, str(config["template"]), store))
        return found

    def peek(self, name: str) -> TwinHandle | None:
        """The twin ``name`` if it is open already (no file or database work)."""
        return self._twins.get(name)

    def get(self, name: str) -> TwinHandle:
        """The open twin ``name``, opened now if needed (404 / 503 problems when it cannot be)."""
        handle = self._twins.get(name)
        if handle is not None:
            return handle
        with self._lock:
            handle = self._twins.get(name)
            if handle is None:
                handle = self._twins[name] = TwinHandle(self._open(name))
            return handle

    def _open(self, name: str) -> Twin:
        config = None
        if name not in (".", "..") and "/" not in name and "\\" not in name:
            config = _read_config(self.home / name / _CONFIG)
        if config is None:
            raise ProblemError(
                404,
                "twin-not-found",
                "Twin not found",
                f"there is no twin '{name}' here: GET /api/v1/twins lists them; create one with "
                f"'twinsight init {name} --template hospital'",
            )
        url = config.get("store") == "url"
        if url and self._db_url is None:
            raise ProblemError(
                503,
                "twin-unavailable",
                "Twin unavailable",
                f"twin '{name}' keeps its events in a database server and this service was "
                "started without its URL: restart it with 'twinsight serve --db URL'",
            )
        try:
            return open_twin(name, home=self.home, db_url=self._db_url if url else None)
        except (TwinError, PseudonymKeyError) as exc:
            log.warning("twin %s cannot be opened: %s", name, exc)
            raise ProblemError(
                503,
                "twin-unavailable",
                "Twin unavailable",
                f"twin '{name}' cannot be opened (its configuration or pseudonym key): "
                "see the service log",
            ) from None

    def close(self) -> None:
        """Close every open twin (ingests marked done, engines disposed)."""
        with self._lock:
            handles, self._twins = list(self._twins.values()), {}
        for handle in handles:
            handle.close()
