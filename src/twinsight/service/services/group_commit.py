"""Group commit: concurrent ingest requests to a twin share one transaction (one ``fsync``).

Each twin has a ``GroupCommitter`` on the event loop. A request hands it its records and waits;
when no commit is running, the records go to the store at once; while one is running, the
requests that arrive wait, and the next commit takes all of them (the classic leader/follower
group commit: no timer, the group is whatever arrived during the previous commit). A commit
runs in a worker thread through the twin's record sink (``TwinHandle.write``: validate,
pseudonymise, insert or quarantine, the ingest's counts) in **one transaction**, together with
the audit entries of its requests (one per actor and endpoint in the group, with the number of
requests). Only after that transaction has committed is any request of the group answered, each
with its own outcome: its events new to the store (``accepted``), already there
(``duplicate``), quarantined. A commit that fails fails every request of its group (nothing of
it was acknowledged). A batch request is never split across transactions.

Per-request outcomes: the sink says which records became events (their keys) and which went to
quarantine; which events were new is read before the commit (the keys already stored) and
checked inside the transaction against the number of rows inserted. When they differ (another
writer stored some of the keys in between), the keys stored by another ingest are read inside
the transaction and counted as duplicates. See ``docs/decisions/0011-group-commit.md``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread
from sqlalchemy import Connection, Engine, bindparam, select

from ...connect import RecordSink
from ...govern import audit
from ...store import AdtEventRow
from .registry import TwinHandle

__all__ = ["MAX_GROUP_RECORDS", "GroupCommitter", "Outcome", "commit_group", "committer_for"]

#: Most records in one group commit, unless a single request holds more (a batch: never split).
MAX_GROUP_RECORDS = 2_000
#: Keys per ``IN (...)`` list when reading which keys are stored (below SQLite's 32,766 limit).
_KEYS_PER_QUERY = 900

Record = bytes | Mapping[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What one request's records became: new events, known events, quarantined records."""

    accepted: int
    duplicate: int
    quarantined: int
    ingest_id: int


@dataclass(frozen=True)
class Request:
    """One request's part of a group: its records, who sent them, to which endpoint."""

    records: Sequence[Record]
    actor: str
    target: str


@dataclass
class _Pending:
    request: Request
    future: asyncio.Future[Outcome]


@dataclass
class _Split:
    """The group's records as the sink took them: per request, event keys and rejects."""

    keys: list[list[str]] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    known: set[str] = field(default_factory=set)
    ingest_id: int = 0
    outcomes: list[Outcome] = field(default_factory=list)


#: Which of the keys (an expanding parameter: compiled once, not per key) are stored; and which
#: were stored by another ingest than ``ingest``.
_STORED = select(AdtEventRow.event_key).where(
    AdtEventRow.event_key.in_(bindparam("keys", expanding=True))
)
_STORED_BY_OTHERS = _STORED.where(AdtEventRow.ingest_id != bindparam("ingest"))


def _stored(conn: Connection, keys: Sequence[str], other_than: int | None = None) -> set[str]:
    """Which of ``keys`` are in ``adt_events`` (stored by another ingest than ``other_than``)."""
    found: set[str] = set()
    for start in range(0, len(keys), _KEYS_PER_QUERY):
        chunk = list(keys[start : start + _KEYS_PER_QUERY])
        if other_than is None:
            rows = conn.execute(_STORED, {"keys": chunk})
        else:
            rows = conn.execute(_STORED_BY_OTHERS, {"keys": chunk, "ingest": other_than})
        found.update(rows.scalars())
    return found


def _known(engine: Engine, keys: Sequence[str]) -> set[str]:
    """The keys already stored (read before the group's transaction)."""
    with engine.connect() as conn:
        return _stored(conn, list(dict.fromkeys(keys)))


def _resolve(split: _Split, conn: Connection, accepted: int) -> list[Outcome]:
    """Each request's outcome; ``accepted`` is the number of rows the transaction inserted."""
    if len(split.keys) == 1:  # alone in its group: the commit's own counts are its outcome
        keys = split.keys[0]
        return [Outcome(accepted, len(keys) - accepted, split.rejected[0], split.ingest_id)]
    seen: set[str] = set()
    new: list[list[bool]] = []
    for keys in split.keys:
        flags = []
        for key in keys:
            flags.append(key not in split.known and key not in seen)
            seen.add(key)
        new.append(flags)
    expected = sum(sum(flags) for flags in new)
    if expected != accepted:  # another writer stored some keys since they were read
        fresh = [k for keys, flags in zip(split.keys, new, strict=True)
                 for k, f in zip(keys, flags, strict=True) if f]  # fmt: skip
        taken = _stored(conn, fresh, other_than=split.ingest_id)
        new = [[f and k not in taken for k, f in zip(keys, flags, strict=True)]
               for keys, flags in zip(split.keys, new, strict=True)]  # fmt: skip
    return [
        Outcome(sum(flags), len(flags) - sum(flags), rejected, split.ingest_id)
        for flags, rejected in zip(new, split.rejected, strict=True)
    ]


def _audit(conn: Connection, requests: Sequence[Request], outcomes: Sequence[Outcome]) -> None:
    """One audit entry per (actor, endpoint) of the group, in the group's transaction."""
    totals: dict[tuple[str, str], list[int]] = {}
    for request, outcome in zip(requests, outcomes, strict=True):
        row = totals.setdefault((request.actor, request.target), [0, 0, 0, 0])
        row[0] += outcome.accepted
        row[1] += outcome.duplicate
        row[2] += outcome.quarantined
        row[3] += 1
    ingest_id = outcomes[0].ingest_id if outcomes else None
    for (actor, target), (acc, dup, quar, count) in totals.items():
        detail: dict[str, int | None] = {"accepted": acc, "duplicate": dup, "quarantined": quar}
        detail |= {"ingest_id": ingest_id, "requests": count}
        audit.append_on(conn, actor=actor, action="ingest", target=target, detail=detail)


def commit_group(handle: TwinHandle, requests: Sequence[Request]) -> list[Outcome]:
    """Store the records of ``requests`` in one transaction with their audit entries; each
    request's outcome. Blocking: run it in a worker thread."""
    split = _Split()

    def fill(sink: RecordSink) -> None:
        split.ingest_id = sink.ingest_id
        for request in requests:
            keys: list[str] = []
            rejected = 0
            for record in request.records:
                key = sink.add(record)
                if key is None:
                    rejected += 1
                else:
                    keys.append(key)
            split.keys.append(keys)
            split.rejected.append(rejected)
        if len(requests) > 1:
            split.known = _known(sink.engine, [k for keys in split.keys for k in keys])

    def hook(conn: Connection, accepted: int) -> None:
        split.outcomes = _resolve(split, conn, accepted)
        _audit(conn, requests, split.outcomes)

    handle.write(fill, hook)
    if not split.outcomes:  # no records at all (empty batches): no transaction was needed
        split.outcomes = [Outcome(0, 0, 0, split.ingest_id) for _ in requests]
        with handle.twin.engine.begin() as conn:
            _audit(conn, requests, split.outcomes)
    return split.outcomes


class GroupCommitter:
    """The group commit of one twin, on the event loop: ``await submit(request)``."""

    def __init__(self, handle: TwinHandle, max_records: int = MAX_GROUP_RECORDS) -> None:
        self.handle = handle
        self.max_records = max_records
        self._queue: deque[_Pending] = deque()
        self._task: asyncio.Task[None] | None = None
        # its own worker thread: commits never wait behind other work of the thread pool
        self._limiter = anyio.CapacityLimiter(1)

    async def submit(self, request: Request) -> Outcome:
        """Queue ``request``; its outcome once the transaction holding it has committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        self._queue.append(_Pending(request, future))
        if self._task is None:
            self._task = loop.create_task(self._drain())
        return await future

    def _take(self) -> list[_Pending]:
        """The next group: the waiting requests in order, up to ``max_records`` records."""
        group = [self._queue.popleft()]
        size = len(group[0].request.records)
        while self._queue and size + len(self._queue[0].request.records) <= self.max_records:
            pending = self._queue.popleft()
            size += len(pending.request.records)
            group.append(pending)
        return group

    async def _drain(self) -> None:
        try:
            while self._queue:
                group = self._take()
                requests = [p.request for p in group]
                try:
                    outcomes = await anyio.to_thread.run_sync(
                        commit_group, self.handle, requests, limiter=self._limiter
                    )
                except BaseException as exc:
                    for pending in group:
                        if not pending.future.done():
                            pending.future.set_exception(
                                exc if isinstance(exc, Exception) else RuntimeError("cancelled")
                            )
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for pending, outcome in zip(group, outcomes, strict=True):
                    if not pending.future.done():  # a client gone away: stored, not answered
                        pending.future.set_result(outcome)
        finally:
            self._task = None
            while self._queue:  # only after a cancellation: nothing of these was stored
                pending = self._queue.popleft()
                if not pending.future.done():
                    pending.future.set_exception(RuntimeError("the service is stopping"))


def committer_for(state: Any, handle: TwinHandle) -> GroupCommitter:
    """The group committer of ``handle``'s twin, kept on the app's ``state``."""
    committers: dict[str, GroupCommitter] | None = getattr(state, "group_commits", None)
    if committers is None:
        committers = {}
        state.group_commits = committers
    name = handle.twin.name
    committer = committers.get(name)
    if committer is None or committer.handle is not handle:
        committer = committers[name] = GroupCommitter(handle)
    return committer
