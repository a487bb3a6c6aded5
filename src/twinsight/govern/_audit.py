"""The audit log: append-only, hash-chained entries of who did what to a twin.

``append(engine, actor=..., action=..., target=..., detail=...)`` adds one entry to the
``audit_log`` table of a twin's store (or of the service home's ``access.sqlite``). Each entry
carries ``prev_hash`` (the hash of the entry before it; 64 zeros for the first) and
``hash = SHA-256(prev_hash + canonical JSON of (seq, at, actor, action, target, detail))``.
Appends are serialised by the database: on PostgreSQL the table is locked in SHARE ROW
EXCLUSIVE mode for the transaction (readers are not blocked), on SQLite the transaction takes
the write lock before it reads the last entry; ``seq`` is the primary key, so two appenders can
never both write the same number. ``verify(engine)`` walks the chain and names the first entry
that was edited, removed or reordered; the anchor kept outside the database (``_anchor``:
the newest committed entry's seq and hash, HMAC-authenticated) also reveals removed newest
entries.

Actors are token ids (``token:<id>``) or ``cli:<login>``, never a token; ``detail`` must hold
counts and names, never personal data (patient identifiers or keys).
"""

from __future__ import annotations

import getpass
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, func, insert, select, text

from ..store._models_govern import AuditRow
from ._anchor import Anchor, AnchorError, anchor_of, note_pending

__all__ = [
    "GENESIS",
    "AuditEntry",
    "AuditProblem",
    "AuditReport",
    "append",
    "append_on",
    "calibrated",
    "cli_actor",
    "entries",
    "entry_hash",
    "ingested",
    "reanchor",
    "verify",
]

#: ``prev_hash`` of the first entry.
GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the log, as stored (``detail`` decoded)."""

    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``at`` as ISO 8601 UTC)."""
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _instant(at: datetime) -> str:
    # microseconds kept: SQLite text and PostgreSQL timestamptz both keep them
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(
    prev_hash: str, seq: int, at: datetime, actor: str, action: str, target: str, detail: str
) -> str:
    """SHA-256 (hex) of ``prev_hash`` + the canonical JSON of the entry (``detail`` as JSON)."""
    body = {
        "seq": seq,
        "at": _instant(at),
        "actor": actor,
        "action": action,
        "target": target,
        "detail": json.loads(detail),
    }
    return hashlib.sha256((prev_hash + _canonical(body)).encode("utf-8")).hexdigest()


def _lock(conn: Connection) -> None:
    """Serialise appenders for the rest of the transaction (see the module docstring)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))
    else:  # a write statement takes SQLite's write lock before the last entry is read
        conn.execute(text("UPDATE audit_log SET seq = seq WHERE 0"))


def append_on(
    conn: Connection,
    *,
    actor: str,
    action: str,
    target: str,
    detail: Mapping[str, Any] | None = None,
    at: datetime | None = None,
    durable: bool = True,
) -> AuditEntry:
    """Append one entry inside the caller's transaction on ``conn`` (it commits with it).

    When the engine's log is anchored, the anchor moves to this entry once the transaction has
    committed (``durable=False``: it does not; the next durable append covers it)."""
    if not actor or not action:
        raise ValueError("an audit entry needs an actor and an action")
    detail_json = _canonical(dict(detail or {}))
    when = (at or datetime.now(UTC)).astimezone(UTC)
    _lock(conn)
    last = conn.execute(
        select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)
    ).first()
    seq, prev = (1, GENESIS) if last is None else (int(last[0]) + 1, str(last[1]))
    digest = entry_hash(prev, seq, when, actor, action, target, detail_json)
    row = {
        "seq": seq,
        "at": when,
        "actor": actor,
        "action": action,
        "target": target,
        "detail": detail_json,
        "prev_hash": prev,
        "hash": digest,
    }
    conn.execute(insert(AuditRow).values(row))
    note_pending(conn, seq, digest, durable)
    return AuditEntry(seq, when, actor, action, target, json.loads(detail_json), prev, digest)


def append(
    engine: Engine,
    *,
    actor: str,
    action: str,
    target: str = "",
    detail: Mapping[str, Any] | None = None,
    durable: bool = True,
) -> AuditEntry:
    """Append one entry in its own transaction: committed when this returns.

    ``durable=False`` commits without waiting for the disk (SQLite ``synchronous=NORMAL`` in
    WAL mode, PostgreSQL ``synchronous_commit = off``): the entry survives a crash of the
    process at once and a power cut from the next synchronous commit on (SQLite: the next
    commit of that database; PostgreSQL: within a fraction of a second); the order of the
    chain is never affected. For entries that follow a high-rate durable operation (one per
    HTTP ingest request), whose own fsync would double that operation's cost.

    ``actor``: who (``token:<id>``, ``cli:<login>``); ``action``: what (``ingest``,
    ``calibrate``, ``scenario``, ``optimise``, ``retention``, ``denied``, ...); ``target``: on
    what (a file, a route, a run id); ``detail``: JSON-ready counts and parameters, no personal
    data.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if not durable and sqlite:  # the WAL is synced by the next synchronous commit
            conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
            conn.commit()
        try:
            with conn.begin():
                if not durable and not sqlite:
                    conn.execute(text("SET LOCAL synchronous_commit TO OFF"))
                return append_on(
                    conn, actor=actor, action=action, target=target, detail=detail, durable=durable
                )
        finally:
            if not durable and sqlite:
                conn.exec_driver_sql("PRAGMA synchronous=FULL")
                conn.commit()


def cli_actor() -> str:
    """The actor of a command run from a shell: ``cli:<login name>`` (``cli:unknown`` if none)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli:unknown"


class _IngestLike(Protocol):
    @property
    def source(self) -> str: ...
    @property
    def format(self) -> str: ...
    @property
    def accepted(self) -> int: ...
    @property
    def duplicate(self) -> int: ...
    @property
    def quarantined(self) -> int: ...


class _CalibrationLike(Protocol):
    @property
    def watermark(self) -> datetime: ...
    @property
    def window_start(self) -> datetime: ...
    @property
    def window_days(self) -> float: ...


_R = TypeVar("_R", bound=_IngestLike)


def ingested(engine: Engine, report: _R, actor: str | None = None) -> _R:
    """Audit an ingest (file, MQTT run) after it committed: its counts; returns ``report``.

    The target is the format and the file's name only (``csv:events.csv``), not its folder.
    """
    append(
        engine,
        actor=actor or cli_actor(),
        action="ingest",
        target=f"{report.format}:{PurePath(report.source).name}",
        detail={
            "accepted": report.accepted,
            "duplicate": report.duplicate,
            "quarantined": report.quarantined,
            "ingest_id": getattr(report, "ingest_id", None),
        },
    )
    return report


def calibrated(
    engine: Engine, calibration: _CalibrationLike, saved: str, actor: str | None = None
) -> None:
    """Audit a calibration saved as ``saved`` (a file name): its window."""
    append(
        engine,
        actor=actor or cli_actor(),
        action="calibrate",
        target=saved,
        detail={
            "window_start": calibration.window_start.isoformat(),
            "watermark": calibration.watermark.isoformat(),
            "window_days": calibration.window_days,
        },
    )


def _entry(row: Any) -> AuditEntry:
    try:
        detail = json.loads(row.detail)
    except ValueError:
        detail = {"unreadable": row.detail[:200]}
    if not isinstance(detail, dict):
        detail = {"value": detail}
    return AuditEntry(
        int(row.seq), row.at, row.actor, row.action, row.target, detail, row.prev_hash, row.hash
    )


def entries(
    engine: Engine, *, limit: int | None = None, action: str | None = None
) -> list[AuditEntry]:
    """The entries in order of ``seq`` (the last ``limit`` when given), optionally one action."""
    query = select(AuditRow)
    if action is not None:
        query = query.where(AuditRow.action == action)
    with engine.connect() as conn:
        if limit is not None:
            rows = list(conn.execute(query.order_by(AuditRow.seq.desc()).limit(limit)))[::-1]
        else:
            rows = list(conn.execute(query.order_by(AuditRow.seq)))
    return [_entry(r) for r in rows]


@dataclass(frozen=True)
class AuditProblem:
    """Where the chain breaks: ``kind`` is ``edited``, ``removed`` or ``reordered`` (``seq``: the
    first entry concerned; for ``removed`` the first missing number), or ``anchor`` (the anchor
    file was altered or cannot be read; ``seq`` 0)."""

    kind: str
    seq: int
    message: str


@dataclass(frozen=True)
class AuditReport:
    """The result of ``verify``: how many entries, the head (last seq and hash), the problem,
    and the anchor's seq (None: the log has no anchor; below ``head_seq``: the anchor lags,
    e.g. after a crash between a commit and the anchor's update)."""

    entries: int
    head_seq: int
    head_hash: str
    problem: AuditProblem | None
    anchor_seq: int | None = None

    @property
    def intact(self) -> bool:
        """True when no entry was edited, removed or reordered."""
        return self.problem is None


def _walk(rows: list[Any]) -> AuditProblem | None:
    by_hash = {r.hash: r for r in rows}
    prev_hash, prev_seq, expected = GENESIS, 0, 1
    for row in rows:
        seq = int(row.seq)
        if row.prev_hash != prev_hash:
            earlier = by_hash.get(row.prev_hash)
            if earlier is not None and earlier is not row:
                return AuditProblem(
                    "reordered",
                    seq,
                    f"entry {seq} is out of order: it was written after entry {int(earlier.seq)}",
                )
            if seq > expected:
                gap = f"{expected}" if seq == expected + 1 else f"{expected}-{seq - 1}"
                return AuditProblem("removed", expected, f"entry {gap} was removed")
            culprit = prev_seq if prev_seq else seq
            return AuditProblem(
                "edited",
                culprit,
                f"entry {culprit} was edited (entry {seq} recorded a different hash for it)",
            )
        recomputed = entry_hash(
            row.prev_hash, seq, row.at, row.actor, row.action, row.target, row.detail
        )
        if recomputed != row.hash or seq != expected:
            return AuditProblem("edited", seq, f"entry {seq} was edited (its hash does not match)")
        prev_hash, prev_seq, expected = row.hash, seq, seq + 1
    return None


def _against(rows: list[Any], head: tuple[int, str], what: str) -> AuditProblem | None:
    """Compare an intact chain with a head recorded elsewhere (``what``: where)."""
    last = int(rows[-1].seq) if rows else 0
    seq, digest = head
    if seq > last:
        first = last + 1
        gap = f"entry {first} was" if first == seq else f"entries {first}-{seq} were"
        return AuditProblem(
            "removed",
            first,
            f"{gap} removed: the newest entries are missing ({what} vouches for entry {seq}, "
            f"the log ends at {last})",
        )
    match = next((r for r in rows if int(r.seq) == seq), None)
    if seq > 0 and (match is None or match.hash != digest):
        return AuditProblem("edited", seq, f"entry {seq} differs from {what}")
    return None


def _check(rows: list[Any], head: tuple[int, str] | None) -> AuditProblem | None:
    problem = _walk(rows)
    if problem is None and head is not None:
        problem = _against(rows, head, "the recorded head")
    return problem


def verify(engine: Engine, *, head: tuple[int, str] | None = None) -> AuditReport:
    """Walk the chain in ``seq`` order; the first edited, removed or reordered entry, if any.

    When the log is anchored (``attach_anchor``; twins and the service home are), removed
    newest entries are found against the anchor. ``head`` (a ``(seq, hash)`` printed by an
    earlier verify and kept elsewhere) checks against that too.
    """
    anchor_file = anchor_of(engine)
    anchor: Anchor | None = None
    unreadable: AuditProblem | None = None
    if anchor_file is not None:  # read first: it only ever vouches for committed entries
        try:
            anchor = anchor_file.read()
        except AnchorError as exc:
            unreadable = AuditProblem("anchor", 0, str(exc))
    with engine.connect() as conn:
        rows = list(conn.execute(select(AuditRow).order_by(AuditRow.seq)))
        count = int(conn.execute(select(func.count()).select_from(AuditRow)).scalar_one())
    problem = _check(rows, head) or unreadable
    if problem is None and anchor is not None:
        problem = _against(rows, (anchor.seq, anchor.hash), "the anchor")
    last_seq = int(rows[-1].seq) if rows else 0
    last_hash = str(rows[-1].hash) if rows else GENESIS
    return AuditReport(count, last_seq, last_hash, problem, None if anchor is None else anchor.seq)


def reanchor(engine: Engine, actor: str | None = None) -> AuditReport:
    """Set the anchor to the log's newest entry, after checking the chain (not the anchor),
    and audit that (``anchor-reset``, the old and new seq). For a database restored from a
    backup: its log legitimately ends before the anchor. Refused (``ValueError``) when the
    log is not anchored or its chain is broken."""
    anchor_file = anchor_of(engine)
    if anchor_file is None:
        raise ValueError("this audit log has no anchor")
    with engine.connect() as conn:
        rows = list(conn.execute(select(AuditRow).order_by(AuditRow.seq)))
    problem = _walk(rows)
    if problem is not None:
        raise ValueError(f"the chain is broken ({problem.message}): not re-anchored")
    try:
        old: int | None = None if (a := anchor_file.read()) is None else a.seq
    except AnchorError:
        old = None
    head = (int(rows[-1].seq), str(rows[-1].hash)) if rows else None
    anchor_file.reset(None if head is None else Anchor(*head))
    append(
        engine,
        actor=actor or cli_actor(),
        action="anchor-reset",
        target="audit.anchor",
        detail={"from": old, "to": head[0] if head else 0},
    )
    return verify(engine)
