"""Stream emulated ADT events live: publish them to an MQTT topic or POST them to a service.

Rows go out in the feed's order (the order of an event file: event time, with the emulator's late
and duplicate copies where a real feed would send them), paced at ``speed`` times real time by
the feed clock (the latest event time sent so far; ``speed`` 0 sends as fast as the peer takes
them). MQTT: one JSON object per message, QoS 1, at most ``window`` messages awaiting their
PUBACK; a dropped connection is retried and unacknowledged messages are sent again. HTTP:
``POST {url}/api/v1/twins/{twin}/events/batch`` with a JSON array of at most 1,000 records;
``429`` is retried after ``Retry-After``; any other failure stops with ``StreamError``.
See ``docs/mqtt.md``.
"""

from __future__ import annotations

import email.utils
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from paho.mqtt.enums import MQTTErrorCode

from ..connect import ADT_FIELDS
from ..connect._mqtt import MqttError, connect_client, new_client, parse_mqtt_url

__all__ = ["StreamCounts", "StreamError", "feed_schedule", "stream_http", "stream_mqtt"]

Row = dict[str, Any]
#: Records per HTTP request at most (the service's limit).
HTTP_BATCH = 1_000
_TICK = 0.05
_MAX_BACKOFF = 30.0


class StreamError(RuntimeError):
    """The stream cannot go on (peer unreachable, refused, an HTTP error); ``hint`` says why."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class StreamCounts:
    """What a stream sent and (HTTP) what the service said it did with the records."""

    sent: int
    accepted: int = 0
    duplicate: int = 0
    quarantined: int = 0


def _record(row: Row) -> Row:
    """The JSON object of one row: the present fields in ``ADT_FIELDS`` order (as JSON Lines)."""
    return {k: row[k] for k in ADT_FIELDS if row.get(k) is not None}


def _event_time(row: Row) -> datetime | None:
    try:
        value = datetime.fromisoformat(str(row.get("time")))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def feed_schedule(rows: Iterable[Row], speed: float) -> Iterator[tuple[float, Row]]:
    """Each row with the wall-clock second (from the stream's start) at which it is due.

    The feed clock is the latest event time seen so far, so a late or malformed row is due at
    once; ``speed`` N plays N hours of events in one hour; 0 makes every row due at once.
    """
    if speed < 0:
        raise ValueError(f"speed must be >= 0, got {speed}")
    first: datetime | None = None
    clock: datetime | None = None
    for row in rows:
        t = _event_time(row)
        if t is not None and (clock is None or t > clock):
            clock = t
        if speed == 0 or clock is None:
            yield 0.0, row
            continue
        if first is None:
            first = clock
        yield (clock - first).total_seconds() / speed, row


def _stopped(stop: threading.Event | None) -> bool:
    return stop is not None and stop.is_set()


def _sleep(seconds: float, stop: threading.Event | None) -> None:
    """Sleep, waking early when ``stop`` is set."""
    if stop is None:
        time.sleep(seconds)
    else:
        stop.wait(seconds)


def stream_mqtt(
    rows: Iterable[Row],
    url: str,
    topic: str,
    *,
    speed: float = 0.0,
    window: int = 100,
    client_id: str | None = None,
    stop: threading.Event | None = None,
    notify: Callable[[str], None] | None = None,
) -> StreamCounts:
    """Publish each row as one JSON message (QoS 1) to ``topic``; the count acknowledged.

    Returns when every message sent has its PUBACK. ``MqttError`` if the broker is unreachable
    at the start; ``StreamError`` if it refused messages (a failing PUBACK reason code). A
    connection dropped later is retried with backoff (the unacknowledged messages are sent
    again, so a subscriber may see a few twice: at-least-once, as QoS 1 promises).
    """
    if not topic or any(c in topic for c in "+#"):
        raise MqttError(f"cannot publish to '{topic}'", "give a topic without wildcards")
    target = parse_mqtt_url(url)
    say = notify or (lambda _m: None)
    client = new_client(target, client_id or f"twinsight-emulate-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(window)
    client.max_queued_messages_set(0)
    acked = 0
    refused: list[str] = []  # reason codes of PUBACKs that refused a message (v5)

    def on_publish(_c: Any, _u: Any, _mid: int, reason: Any, _p: Any) -> None:
        nonlocal acked
        acked += 1
        if reason.is_failure:
            refused.append(str(reason))

    connack: list[Any] = []
    client.on_publish = on_publish
    client.on_connect = lambda _c, _u, _f, reason, _p: connack.append(reason)
    connect_client(client, target, clean_start=True)
    deadline = time.monotonic() + 10.0
    while not connack:
        if client.loop(timeout=_TICK) != MQTTErrorCode.MQTT_ERR_SUCCESS or (
            time.monotonic() > deadline
        ):
            raise MqttError(f"cannot connect to {target}: no CONNACK", "check the broker")
    if connack[0].is_failure:
        raise MqttError(f"{target} refused the connection: {connack[0]}", "check the credentials")
    sent = 0

    def pump(timeout: float) -> None:
        """Run the network loop once; reconnect with backoff if the connection dropped."""
        if client.loop(timeout=timeout) == MQTTErrorCode.MQTT_ERR_SUCCESS:
            return
        delay = 0.5
        say(f"{target}: connection lost; reconnecting ({sent - acked} messages await a PUBACK)")
        while not _stopped(stop):
            _sleep(delay, stop)
            try:
                if client.reconnect() == MQTTErrorCode.MQTT_ERR_SUCCESS:
                    say(f"{target}: reconnected; sending the unacknowledged messages again")
                    return
            except OSError as exc:
                delay = min(delay * 2, _MAX_BACKOFF)
                say(f"{target}: still unreachable ({exc.strerror or exc}); retry in {delay:.0f} s")

    try:
        start = time.monotonic()
        for due, row in feed_schedule(rows, speed):
            while not _stopped(stop) and time.monotonic() - start < due:
                pump(min(_TICK, max(0.0, due - (time.monotonic() - start))))
            if _stopped(stop):
                break
            client.publish(topic, json.dumps(_record(row), ensure_ascii=False), qos=1)
            sent += 1
            while sent - acked >= window and not _stopped(stop):
                pump(_TICK)
            if sent % window == 0:
                pump(0.0)  # read the PUBACKs that have arrived
        while acked < sent and not _stopped(stop):
            pump(_TICK)
    finally:
        client.disconnect()
        client.loop(timeout=_TICK)
    if refused:
        raise StreamError(
            f"{target} refused {len(refused)} of {sent} messages to '{topic}': {refused[0]}",
            "check the user's right to publish to the topic",
        )
    return StreamCounts(sent=acked)


def _retry_after(value: str | None) -> float:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); 1 s if absent."""
    if not value:
        return 1.0
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 1.0
    return max(0.0, when.timestamp() - time.time())


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:300]
    return json.dumps(body)[:200]


def stream_http(
    rows: Iterable[Row],
    url: str,
    twin: str,
    *,
    speed: float = 0.0,
    batch_size: int = HTTP_BATCH,
    timeout: float = 30.0,
    stop: threading.Event | None = None,
    notify: Callable[[str], None] | None = None,
) -> StreamCounts:
    """POST the rows in batches (a JSON array each) to a Twinsight service's twin ``twin``.

    A batch holds the rows due by the time it is sent, at most ``batch_size`` (<= 1,000). A
    ``429`` waits ``Retry-After`` seconds and sends the same batch again; any other failure
    raises ``StreamError`` after the batches already accepted (counted in its message).
    """
    if not 1 <= batch_size <= HTTP_BATCH:
        raise ValueError(f"batch_size must be from 1 to {HTTP_BATCH}, got {batch_size}")
    say = notify or (lambda _m: None)
    endpoint = f"{url.rstrip('/')}/api/v1/twins/{quote(twin, safe='')}/events/batch"
    totals = [0, 0, 0, 0]  # sent, accepted, duplicate, quarantined

    def post(client: httpx.Client, batch: list[Row]) -> None:
        while True:
            try:
                response = client.post(endpoint, json=batch)
            except httpx.HTTPError as exc:
                raise StreamError(
                    f"cannot reach {endpoint}: {exc} (after {totals[0]} records sent)",
                    "check the Twinsight service is running and the URL is right",
                ) from None
            if response.status_code == 429:
                wait = _retry_after(response.headers.get("Retry-After"))
                say(f"{endpoint}: busy (429); retrying in {wait:.1f} s")
                _sleep(wait, stop)
                if _stopped(stop):
                    return
                continue
            if response.status_code != 200:
                raise StreamError(
                    f"{endpoint}: HTTP {response.status_code}: {_detail(response)} "
                    f"(after {totals[0]} records sent)",
                    "check the twin name and the service's log",
                )
            counts = response.json()
            totals[0] += len(batch)
            for i, key in enumerate(("accepted", "duplicate", "quarantined"), start=1):
                totals[i] += int(counts.get(key, 0))
            return

    token = os.environ.get("TWINSIGHT_TOKEN")  # the service's bearer token (a device token)
    auth = {"Authorization": f"Bearer {token}"} if token else None
    with httpx.Client(timeout=timeout, headers=auth) as client:
        start = time.monotonic()
        batch: list[Row] = []
        for due, row in feed_schedule(rows, speed):
            if _stopped(stop):
                break
            wait = due - (time.monotonic() - start)
            if wait > 0 and batch:  # the next row is not due yet: send what is
                post(client, batch)
                batch = []
                wait = due - (time.monotonic() - start)
            if wait > 0:
                _sleep(wait, stop)
                if _stopped(stop):
                    break
            batch.append(_record(row))
            if len(batch) >= batch_size:
                post(client, batch)
                batch = []
        if batch and not _stopped(stop):
            post(client, batch)
    return StreamCounts(*totals)
