"""Interactions live from MQTT: the same subscriber as the hospital's ADT feed (MQTT v5, QoS 1,
a persistent session, acknowledged only after the commit that stored a message's records;
``twinsight.connect._mqtt``), with a sink that validates interaction records instead of ADT
events.

Payload of one message: one JSON object with the columns of an interaction file (see
``_ingest``; values as JSON strings, numbers or booleans), or a JSON array of them, or JSON
Lines. A record that cannot be used is quarantined with its reason (and acknowledged: it is
stored, in quarantine). A redelivered message counts ``duplicate`` (the record key).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, update

from ..connect._mqtt import (
    _TICK,
    BATCH,
    FLUSH_INTERVAL,
    MqttError,
    _default_client_id,
    _Ingest,
    _log,
    parse_mqtt_url,
)
from ..connect._records import insert_new, open_ingest
from ..govern import Pseudonymiser
from ..store import IngestRow, InteractionRow, QuarantineRow
from ._ingest import COLUMNS, ContactIngestReport, parse_interaction

__all__ = ["InteractionSink", "ingest_interactions_mqtt", "publish_interactions"]

_TABLE = cast(Table, InteractionRow.__table__)
_QUARANTINE = cast(Table, QuarantineRow.__table__)
_ALIASES = {a: canon for canon, names in COLUMNS.items() for a in names}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class InteractionSink:
    """Validate, pseudonymise and store interaction records from a stream, in explicit
    commits (the interface of ``connect.RecordSink``: ``add``, ``pending``, ``commit``,
    ``close``)."""

    def __init__(self, engine: Engine, pseudonymise: Pseudonymiser, source: str, fmt: str):
        self.engine = engine
        self.pseudonymise = pseudonymise
        self.source = source
        self.format = fmt
        started = datetime.now(UTC)
        self.fingerprint = hashlib.sha256(f"{source}|{started.isoformat()}".encode()).hexdigest()
        with engine.begin() as conn:
            self.ingest_id = open_ingest(conn, source, self.fingerprint, fmt, started)
        self.report = ContactIngestReport(source, fmt, ingest_id=self.ingest_id)
        self._good: list[dict[str, Any]] = []
        self._bad: list[dict[str, Any]] = []
        self._seq = 0

    @property
    def pending(self) -> int:
        """Records added since the last commit."""
        return len(self._good) + len(self._bad)

    def add(self, data: bytes | str | Mapping[str, Any]) -> str | None:
        """Take one record (a JSON object); stored at the next ``commit``. Its key, or None
        when it goes to quarantine."""
        self._seq += 1
        raw = data if isinstance(data, str) else (
            json.dumps(dict(data), default=str) if isinstance(data, Mapping)
            else bytes(data).decode("utf-8", "replace")
        )  # fmt: skip
        now = datetime.now(UTC)
        try:
            obj = json.loads(raw) if not isinstance(data, Mapping) else dict(data)
            if not isinstance(obj, dict):
                raise ValueError("the record is not a JSON object")
            row = {_ALIASES[k.strip().lower()]: _text(v) for k, v in obj.items()
                   if k.strip().lower() in _ALIASES}  # fmt: skip
            rec = parse_interaction(row, self.pseudonymise)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            key = hashlib.sha256(f"{self.source}|{raw}".encode()).hexdigest()
            self._bad.append({"record_key": key, "raw": raw[:10_000], "source": self.source,
                              "line": self._seq, "offset": self._seq, "reason": str(exc),
                              "ingest_id": self.ingest_id, "received_at": now})  # fmt: skip
            self.report.reasons.append(f"record {self._seq}: {exc}")
            return None
        self._good.append({**rec, "ingest_id": self.ingest_id, "received_at": now})
        return str(rec["record_key"])

    def commit(self, hook: Callable[..., None] | None = None) -> None:
        """Store the pending records in one transaction."""
        good, bad = self._good, self._bad
        self._good, self._bad = [], []
        with self.engine.begin() as conn:
            stored = 0
            unique = list({r["record_key"]: r for r in good}.values())
            stored = insert_new(conn, _TABLE, "record_key", unique)
            insert_new(conn, _QUARANTINE, "record_key", bad)
            self.report.accepted += stored
            self.report.duplicate += len(good) - stored
            self.report.quarantined += len(bad)
            r = self.report
            conn.execute(
                update(IngestRow).where(IngestRow.id == self.ingest_id)
                .values(accepted=r.accepted, duplicate=r.duplicate, quarantined=r.quarantined)
            )  # fmt: skip
            if hook is not None:
                hook(conn, stored)

    def close(self) -> ContactIngestReport:
        """Commit what is pending and mark the ingest done."""
        self.commit()
        with self.engine.begin() as conn:
            conn.execute(
                update(IngestRow).where(IngestRow.id == self.ingest_id)
                .values(status="done", finished_at=datetime.now(UTC))
            )  # fmt: skip
        return self.report


def ingest_interactions_mqtt(
    url: str,
    topics: Sequence[str],
    engine: Engine,
    pseudonymise: Pseudonymiser,
    *,
    client_id: str | None = None,
    max_events: int | None = None,
    idle_timeout: float | None = None,
    batch_size: int = BATCH,
    flush_interval: float = FLUSH_INTERVAL,
    stop: threading.Event | None = None,
    notify: Callable[[str], None] | None = None,
) -> ContactIngestReport:
    """Subscribe to ``topics`` at ``url`` and store their interaction records; the options
    and the stopping rules are those of ``twinsight.connect.ingest_mqtt``."""
    if not topics or any(not t for t in topics):
        raise MqttError("no topic to subscribe to", "give at least one topic, e.g. --topic calls/#")
    target = parse_mqtt_url(url)
    source = f"{target}/{','.join(topics)}"
    cid = client_id or _default_client_id(engine, source)
    sink = InteractionSink(engine, pseudonymise, source, "contact-mqtt")
    run = _Ingest(target, topics, sink, cid, batch_size, flush_interval,  # type: ignore[arg-type]
                  notify or _log.warning)  # fmt: skip
    run.limit = max_events
    run.connect()

    def finished() -> bool:
        if stop is not None and stop.is_set():
            return True
        if max_events is not None and run.received >= max_events:
            return True
        quiet = time.monotonic() - run.last_message
        idle = run.subscribed or not run.client.is_connected()
        return idle_timeout is not None and idle and not run.mids and quiet >= idle_timeout

    try:
        while not finished():
            rc = run.pump(_TICK)
            if run.fatal is not None:
                raise run.fatal
            if rc != 0:
                run.flush(ack=False)
                if not run.reconnect(finished):
                    break
                continue
            due = time.monotonic() - run.first_pending >= flush_interval
            if run.mids and (due or sink.pending >= batch_size):
                run.flush(ack=True)
        run.flush(ack=run.client.is_connected())
    finally:
        run.close()
    return sink.close()


def publish_interactions(
    rows: Sequence[Mapping[str, str]], url: str, topic: str, *, window: int = 100
) -> int:
    """Publish each record as one JSON message (QoS 1) to ``topic`` (blank fields left out),
    as fast as the broker takes them; the number acknowledged. ``MqttError`` if the broker
    cannot be reached or refuses the topic."""
    from ..connect._mqtt import connect_client, new_client

    if not topic or any(c in topic for c in "+#"):
        raise MqttError(f"cannot publish to '{topic}'", "give a topic without wildcards")
    target = parse_mqtt_url(url)
    client = new_client(target, f"twinsight-emulate-contact-{time.time_ns() % 10**9}")
    client.max_inflight_messages_set(window)
    connect_client(client, target, clean_start=True)
    client.loop_start()
    try:
        infos = []
        for row in rows:
            payload = json.dumps({k: v for k, v in row.items() if v != ""})
            infos.append(client.publish(topic, payload, qos=1))
        for info in infos:
            info.wait_for_publish(60)
        return sum(1 for info in infos if info.is_published())
    finally:
        client.disconnect()
        client.loop_stop()
