"""MQTT ingest: ADT events from topics on an MQTT broker into the twin's store, durably.

MQTT v5, QoS 1, manual acknowledgement: a message's PUBACK is sent only after the
``RecordSink.commit()`` that stored its records has returned, so a message is never acknowledged
before it is durable. The session is persistent (a stable client id, ``clean_start=False`` and a
session expiry interval), so the broker keeps what is published while the twin is away and
delivers it when the twin comes back; a dropped connection is retried with backoff and a message
redelivered after it is counted ``duplicate`` (event key), never stored twice. ``docs/mqtt.md``.

Payload of one message (decided here, documented there): one ADT JSON object; or a JSON array of
them; or JSON Lines (one object per line). A payload that is none of these is one bad record
(quarantined with its reason, and acknowledged: it is stored, in quarantine).
"""

from __future__ import annotations

import hashlib
import json
import logging
import select
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions
from sqlalchemy import Engine

from ._batch import Pseudonymise
from ._files import IngestReport
from ._sink import RecordSink

__all__ = [
    "MqttError",
    "MqttUrl",
    "connect_client",
    "ingest_mqtt",
    "new_client",
    "parse_mqtt_url",
    "split_payload",
]

_log = logging.getLogger("twinsight.connect.mqtt")

#: Seconds the broker keeps the twin's session (and queues its messages) while it is away.
SESSION_EXPIRY = 7 * 24 * 3600
#: Records per commit by default, and the longest a record waits for its commit (seconds).
BATCH = 5_000
FLUSH_INTERVAL = 0.25
#: Unacknowledged messages the broker may have in flight to us (MQTT v5 Receive Maximum).
RECEIVE_MAXIMUM = 65_535
#: Seconds to wait for the broker's CONNACK; reconnect backoff from 0.5 s doubling to 30 s.
CONNECT_TIMEOUT = 10.0
_BACKOFF = (0.5, 30.0)
_TICK = 0.05
_HINT = "check the broker is running and the URL (mqtt://HOST:1883) is right"


class MqttError(RuntimeError):
    """The broker cannot be used (bad URL, unreachable, refused); ``hint`` says what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class MqttUrl:
    """A broker address from ``mqtt://[USER[:PASSWORD]@]HOST[:PORT]`` (port 1883 by default).

    ``str()`` is ``mqtt://HOST:PORT``: never the user name or the password.
    """

    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"mqtt://{host}:{self.port}"


def parse_mqtt_url(url: str) -> MqttUrl:
    """The broker address of ``url``; ``MqttError`` (never echoing a password) if it is not one."""
    parts = urlsplit(url.strip())
    shown = f"{parts.scheme}://{parts.hostname or ''}" if parts.scheme else url.split("@")[-1]
    fix = "write it as mqtt://HOST:1883, or mqtt://USER:PASSWORD@HOST:1883"
    if parts.scheme != "mqtt":
        if parts.scheme == "mqtts":
            raise MqttError(f"'{shown}': TLS (mqtts://) is not supported yet", fix)
        raise MqttError(f"'{shown}' is not an MQTT URL", fix)
    try:
        port = parts.port or 1883
    except ValueError:
        raise MqttError(f"'{shown}': the port is not a number from 1 to 65535", fix) from None
    if not parts.hostname:
        raise MqttError(f"'{url.split('@')[-1]}' has no host", fix)
    if parts.path not in ("", "/") or parts.query:
        raise MqttError(
            f"'{shown}': the URL names a broker only", "give the topic with --topic, not in the URL"
        )
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return MqttUrl(parts.hostname, port, username, password)


def split_payload(payload: bytes) -> list[bytes]:
    """The records of one message: a JSON object; a JSON array of them; or JSON Lines.

    An array's items are re-serialised one by one; anything unreadable is returned whole, as one
    record, so that it is quarantined with the reason. An empty array holds no record.
    """
    body = payload.strip()
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:].lstrip()
    if body.startswith(b"["):
        try:
            items = json.loads(body)
        except ValueError:  # JSONDecodeError and bad UTF-8
            return [payload]
        return [json.dumps(item, ensure_ascii=False).encode() for item in items]
    if b"\n" in body:
        try:
            if isinstance(json.loads(body), dict):  # one pretty-printed object
                return [body]
        except ValueError:
            pass
        return [line for line in body.split(b"\n") if line.strip()]
    return [payload]


def new_client(target: MqttUrl, client_id: str, *, manual_ack: bool = False) -> mqtt.Client:
    """A paho-mqtt 2.x client for ``target`` speaking MQTT v5 (credentials set, not connected)."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
        manual_ack=manual_ack,
    )
    if target.username is not None:
        client.username_pw_set(target.username, target.password)
    return client


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text)


def connect_client(
    client: mqtt.Client,
    target: MqttUrl,
    *,
    clean_start: bool,
    properties: Properties | None = None,
    keepalive: int = 30,
) -> None:
    """Open the TCP connection (CONNACK follows in the loop); ``MqttError`` if unreachable."""
    try:
        client.connect(
            target.host,
            target.port,
            keepalive=keepalive,
            clean_start=clean_start,
            properties=properties,
        )
    except (OSError, ValueError) as exc:
        raise MqttError(f"cannot connect to {target}: {_reason(exc)}", _HINT) from None


class _Ingest:
    """One subscriber: its client, its sink, the messages received but not yet acknowledged."""

    def __init__(
        self,
        target: MqttUrl,
        topics: Sequence[str],
        sink: RecordSink,
        client_id: str,
        batch_size: int,
        flush_interval: float,
        notify: Callable[[str], None],
    ) -> None:
        self.target = target
        self.topics = list(topics)
        self.sink = sink
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.notify = notify
        self.client = new_client(target, client_id, manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = SESSION_EXPIRY
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        self.properties = props
        self.connack: ReasonCode | None = None
        self.session_present = False
        self.fatal: MqttError | None = None
        self.why = "connection lost"
        self.mids: list[int] = []  # messages whose records are pending, in arrival order
        self.received = 0  # records taken (of messages kept for acknowledgement)
        self.limit: int | None = None
        self.first_pending = 0.0
        self.last_message = time.monotonic()
        self.subscribed = False

    # -- callbacks (run inside pump(), in this thread) ----------------------------------------
    def _on_connect(
        self, client: mqtt.Client, _u: Any, flags: Any, reason: ReasonCode, _p: Any
    ) -> None:
        self.connack = reason
        self.session_present = bool(flags.session_present)
        if not reason.is_failure:
            opts = SubscribeOptions(qos=1)
            client.subscribe([(t, opts) for t in self.topics])

    def _on_subscribe(
        self, _c: mqtt.Client, _u: Any, _mid: int, codes: list[ReasonCode], _p: Any
    ) -> None:
        self.subscribed = True
        self.last_message = time.monotonic()  # the idle clock starts once subscribed
        for topic, code in zip(self.topics, codes, strict=False):
            if code.is_failure:
                self.fatal = MqttError(
                    f"{self.target} refused the subscription to '{topic}': {code}",
                    "check the topic filter and the user's rights on the broker",
                )

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if self.limit is not None and self.received >= self.limit:
            return  # past --max-events: left unacknowledged, the broker delivers it next time
        records = split_payload(bytes(msg.payload))
        for record in records:
            self.sink.add(record)
        self.received += len(records)
        if not self.mids:
            self.first_pending = time.monotonic()
        self.mids.append(msg.mid)
        self.last_message = time.monotonic()

    def _on_disconnect(
        self, _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any
    ) -> None:
        self.why = str(reason) if reason.value else "connection lost"

    # -- the loop ---------------------------------------------------------------------------
    def flush(self, *, ack: bool) -> None:
        """Commit the pending records; then (only then) acknowledge their messages."""
        if self.sink.pending or self.mids:
            self.sink.commit()
        if ack:
            for mid in self.mids:
                self.client.ack(mid, 1)
        self.mids.clear()

    def _await_connack(self) -> None:
        self.connack = None
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while self.connack is None:
            rc = self.pump(_TICK)
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                raise MqttError(f"cannot connect to {self.target}: {self.why}", _HINT)
            if time.monotonic() > deadline:
                raise MqttError(
                    f"cannot connect to {self.target}: no answer in {CONNECT_TIMEOUT:.0f} s", _HINT
                )
        if self.connack.is_failure:
            raise MqttError(
                f"{self.target} refused the connection: {self.connack}",
                "check the user name, password and client id",
            )

    def connect(self) -> None:
        connect_client(self.client, self.target, clean_start=False, properties=self.properties)
        self._await_connack()

    def reconnect(self, give_up: Callable[[], bool]) -> bool:
        """Reconnect with backoff, keeping the session; False if ``give_up`` says stop first."""
        delay = _BACKOFF[0]
        why = self.why
        self.notify(f"{self.target}: {why}; reconnecting (nothing acknowledged is lost)")
        while True:
            end = time.monotonic() + delay
            while time.monotonic() < end:
                if give_up():
                    return False
                time.sleep(min(_TICK * 2, max(0.0, end - time.monotonic())))
            try:
                self.client.reconnect()
                self._await_connack()
            except (OSError, MqttError) as exc:
                why = exc.args[0] if isinstance(exc, MqttError) else _reason(exc)
                delay = min(delay * 2, _BACKOFF[1])
                self.notify(f"{self.target}: still unreachable ({why}); retrying in {delay:.0f} s")
                continue
            if self.session_present:
                self.notify(f"{self.target}: reconnected, session resumed")
            else:
                self.notify(
                    f"{self.target}: reconnected, but the broker had no session for this client: "
                    "messages published while disconnected are lost unless the broker keeps "
                    "them (persistence true)"
                )
            return True

    def pump(self, timeout: float) -> MQTTErrorCode:
        """One turn of the network loop: wait up to ``timeout`` seconds, read, write, keepalive.

        paho-mqtt's external-loop API (``loop_read``/``loop_write``/``loop_misc`` on
        ``socket()``): unlike ``loop()`` it needs no wake-up socket pair, which costs two system
        calls per packet sent (each PUBACK).
        """
        sock = self.client.socket()
        if sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        writing = [sock] if self.client.want_write() else []
        try:
            readable, writable, _ = select.select([sock], writing, [], timeout)
        except (OSError, ValueError):  # closed under us
            return MQTTErrorCode.MQTT_ERR_CONN_LOST
        if readable:
            rc = self.client.loop_read()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return rc
        if writable:
            rc = self.client.loop_write()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return rc
        return self.client.loop_misc()

    def barrier(self) -> None:
        """Wait until the broker has processed everything sent so far (acknowledgements too).

        An UNSUBSCRIBE of a filter never subscribed (no effect on the session) and its UNSUBACK:
        the broker handles a connection's packets in order, so the PUBACKs before it are done.
        """
        done: list[int] = []
        self.client.on_unsubscribe = lambda _c, _u, mid, _r, _p: done.append(mid)
        rc, mid = self.client.unsubscribe(f"twinsight/barrier/{uuid.uuid4().hex}")
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and mid not in done:
            if time.monotonic() > deadline:
                break
            rc = self.pump(_TICK)

    def close(self) -> None:
        """Make sure the last acknowledgements arrived, then disconnect (the session stays)."""
        if self.client.is_connected():
            self.barrier()
            self.client.disconnect()


def _default_client_id(engine: Engine, source: str) -> str:
    """Stable for one store and one set of topics: the same session on every run."""
    store = engine.url.render_as_string(hide_password=True)
    return "twinsight-" + hashlib.sha256(f"{store}|{source}".encode()).hexdigest()[:13]


def ingest_mqtt(
    url: str,
    topics: Sequence[str],
    engine: Engine,
    pseudonymise: Pseudonymise,
    *,
    client_id: str | None = None,
    max_events: int | None = None,
    idle_timeout: float | None = None,
    batch_size: int = BATCH,
    flush_interval: float = FLUSH_INTERVAL,
    stop: threading.Event | None = None,
    notify: Callable[[str], None] | None = None,
) -> IngestReport:
    """Subscribe to ``topics`` on the broker at ``url`` (QoS 1) and store their ADT events.

    Runs until ``stop`` is set, ``max_events`` records have been taken, or nothing has arrived
    for ``idle_timeout`` seconds (``None``: no limit), then commits, acknowledges and returns the
    counts. Records commit when ``batch_size`` are pending or the oldest has waited
    ``flush_interval`` seconds. ``client_id`` names the persistent session (default: derived
    from the store and the topics, so a restart resumes it; two running ingests must never share
    one). ``notify`` receives connection messages (default: the ``twinsight.connect.mqtt`` log).
    ``MqttError`` if the broker cannot be reached at the start or refuses us; a connection
    dropped later is retried with backoff for as long as the ingest runs.
    """
    if not topics or any(not t for t in topics):
        raise MqttError("no topic to subscribe to", "give at least one topic, e.g. --topic adt/#")
    if batch_size < 1 or flush_interval <= 0:
        raise ValueError("batch_size must be >= 1 and flush_interval > 0 seconds")
    target = parse_mqtt_url(url)
    source = f"{target}/{','.join(topics)}"
    cid = client_id or _default_client_id(engine, source)
    say = notify or _log.warning
    sink = RecordSink(engine, pseudonymise, source, "mqtt")
    run = _Ingest(target, topics, sink, cid, batch_size, flush_interval, say)
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
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                run.flush(ack=False)  # stored; the broker redelivers them: they count duplicate
                if not run.reconnect(finished):
                    break
                continue
            due = time.monotonic() - run.first_pending >= flush_interval
            if run.mids and (due or run.sink.pending >= batch_size):
                run.flush(ack=True)
        run.flush(ack=run.client.is_connected())
    finally:
        run.close()  # sends the acknowledgements queued by the last flush, keeps the session
    return sink.close()
