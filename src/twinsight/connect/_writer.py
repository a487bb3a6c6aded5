"""Batches committed on a background thread while the next one is validated.

A file ingest alternates two kinds of work: Python validating records (holding the GIL) and
SQLite or PostgreSQL inserting them (mostly outside the GIL). ``BatchWriter`` commits batch
``n`` on one thread while the caller validates batch ``n + 1`` on another, so a 2-core machine
does both at once. Batches are committed one at a time and in order, each in its own
transaction with the ingest's position (``commit_batch``), so what a crash or Ctrl-C leaves
behind is what the one-thread loop would leave: whole batches, and a position to resume from.
"""

from __future__ import annotations

import queue
import threading
from types import TracebackType

from sqlalchemy import Engine

from ._batch import Batch, Context, commit_batch

__all__ = ["BatchWriter"]


class BatchWriter:
    """Commit ``Batch``es of one ingest in order on a writer thread (a context manager).

    ``submit`` hands a batch over (waiting while one batch is already queued: at most three
    batches exist at once); ``finish`` commits the final batch, marks the ingest done and waits.
    A commit that fails stops the writer; its exception is raised by the next ``submit`` or by
    ``finish``. Leaving the ``with`` block on an exception (a crash while validating, Ctrl-C)
    first commits the batches already submitted — exactly what the one-thread loop would have
    committed by then — and then lets the exception go on. ``totals`` (accepted, duplicate,
    quarantined) is complete after ``finish``.
    """

    def __init__(self, engine: Engine, ctx: Context) -> None:
        self.engine = engine
        self.ctx = ctx
        self.totals = [0, 0, 0]
        self._queue: queue.Queue[tuple[Batch, bool] | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="twinsight-ingest-writer")
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is not None:
                continue
            batch, final = item
            try:
                commit_batch(self.engine, self.ctx, batch, self.totals, final=final)
            except BaseException as exc:  # handed to the caller's thread
                self._error = exc

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, batch: Batch) -> None:
        """Queue ``batch`` for commit (raises the exception of a failed earlier commit)."""
        self._check()
        self._queue.put((batch, False))

    def finish(self, batch: Batch) -> list[int]:
        """Commit the last ``batch``, mark the ingest done, wait; the totals."""
        self._check()
        self._queue.put((batch, True))
        self._queue.put(None)
        self._thread.join()
        self._check()
        return self.totals

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
