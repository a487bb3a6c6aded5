"""MQTT ingest against a real Mosquitto: exact counts, persistent sessions, a dropped broker,
a killed ingester (acknowledged only after commit) and the ``ingest --mqtt`` command.

The shared broker is ``TWINSIGHT_MQTT_URL`` (tests skip without it); the dropped-connection
test starts its own private ``mosquitto`` on a free port. Every test uses its own topic.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from twinsight.cli import app
from twinsight.connect import IngestReport, MqttError, ingest_mqtt, parse_mqtt_url
from twinsight.connect._mqtt import split_payload
from twinsight.emulate import (
    StreamCounts,
    StreamError,
    emulate_hospital,
    feed_schedule,
    stream_mqtt,
)
from twinsight.govern import Pseudonymiser
from twinsight.store import AdtEventRow, QuarantineRow, open_store

MQTT_ENV = "TWINSIGHT_MQTT_URL"
SECRET_BYTES = b"mqtt test secret, sixteen bytes or more"
SECRET = Pseudonymiser(SECRET_BYTES)
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
ROOT = Path(__file__).resolve().parents[1]


def event(i: int, **changes: Any) -> dict[str, Any]:
    """An ED arrival with event id ``m-<i>``."""
    when = f"2026-03-02T08:{i % 60:02d}:00Z"
    row = {"v": 1, "event_id": f"m-{i}", "type": "arrival", "time": when, "unit": "ED",
           "patient_id": f"MRN{i:05d}", "acuity": 1 + i % 5}  # fmt: skip
    return {**row, **changes}


@pytest.fixture
def broker() -> str:
    url = os.environ.get(MQTT_ENV)
    if not url:
        pytest.skip(f"{MQTT_ENV} is not set: the MQTT tests need a running broker (Mosquitto)")
    return url


def unique() -> tuple[str, str]:
    """A fresh topic and client id."""
    tag = uuid.uuid4().hex[:12]
    return f"twinsight-test/{tag}/adt", f"ts-test-{tag}"


def publisher(url: str) -> mqtt.Client:
    """A plain paho publisher (network loop in its own thread, reconnecting by itself)."""
    target = parse_mqtt_url(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.max_inflight_messages_set(100)
    client.reconnect_delay_set(0.2, 1)
    client.connect(target.host, target.port)
    client.loop_start()
    return client


def publish(url: str, topic: str, payloads: list[Any]) -> None:
    """Publish each payload (QoS 1; a dict as JSON) and wait for every PUBACK."""
    client = publisher(url)
    try:
        infos = [
            client.publish(topic, json.dumps(p) if isinstance(p, dict) else p, qos=1)
            for p in payloads
        ]
        for info in infos:
            info.wait_for_publish(30)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def subscribe_once(url: str, topic: str, engine: Engine, client_id: str) -> None:
    """Create the persistent session (the subscription) so that the broker keeps messages."""
    report = ingest_mqtt(url, [topic], engine, SECRET, client_id=client_id, idle_timeout=0.2)
    assert report.records == 0


def count(engine: Engine, table: type[object] = AdtEventRow) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def event_ids(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        keys = conn.execute(select(AdtEventRow.event_key)).scalars().all()
    return {k.removeprefix("id:") for k in keys}


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


# ----- payloads and URLs (no broker) -----------------------------------------------------------


def test_a_payload_is_an_object_an_array_or_json_lines() -> None:
    one = json.dumps(event(1)).encode()
    assert split_payload(one) == [one]
    assert split_payload(json.dumps(event(1), indent=2).encode()) == [
        json.dumps(event(1), indent=2).encode()
    ]
    assert [json.loads(r) for r in split_payload(json.dumps([event(1), event(2)]).encode())] == [
        event(1),
        event(2),
    ]
    lines = (json.dumps(event(1)) + "\n\n" + json.dumps(event(2)) + "\n").encode()
    assert [json.loads(r) for r in split_payload(lines)] == [event(1), event(2)]
    assert split_payload(b"[1, 2") == [b"[1, 2"]  # unreadable: one bad record, quarantined
    assert split_payload(b"[]") == []


def test_broker_urls_are_checked_and_passwords_never_shown() -> None:
    target = parse_mqtt_url("mqtt://ward:hunter2@broker.example:8883")
    assert (target.host, target.port, target.username, target.password) == (
        "broker.example",
        8883,
        "ward",
        "hunter2",
    )
    assert str(target) == "mqtt://broker.example:8883" and "hunter2" not in repr(target)
    assert parse_mqtt_url("mqtt://localhost").port == 1883
    for bad in ("http://u:hunter2@host", "mqtt://u:hunter2@host:99999", "mqtt://host/adt"):
        with pytest.raises(MqttError) as info:
            parse_mqtt_url(bad)
        assert "hunter2" not in str(info.value) and info.value.hint


# ----- the shared broker -----------------------------------------------------------------------


def test_messages_are_stored_with_exact_counts_and_acknowledged(broker: str, store: Engine) -> None:
    topic, client_id = unique()
    subscribe_once(broker, topic, store, client_id)
    good = [event(i) for i in range(40)]
    bad = ["not json", json.dumps(event(99, type="teleport")), "[1]"]
    several = [
        json.dumps([event(i) for i in range(40, 43)]),  # an array: 3 records
        json.dumps(event(43)) + "\n" + json.dumps(event(44)),  # JSON Lines: 2 records
        json.dumps(event(45), indent=2),  # one pretty-printed object
    ]
    publish(broker, topic, [*good, *good[:5], *bad, *several])
    records = 40 + 5 + 3 + 3 + 2 + 1
    report = ingest_mqtt(
        broker, [topic], store, SECRET, client_id=client_id, max_events=records, idle_timeout=30
    )
    assert (report.accepted, report.duplicate, report.quarantined) == (46, 5, 3)
    assert report.format == "mqtt" and report.source == f"{parse_mqtt_url(broker)}/{topic}"
    assert event_ids(store) == {f"m-{i}" for i in range(46)}
    assert count(store, QuarantineRow) == 3
    with store.connect() as conn:
        keys = conn.execute(select(AdtEventRow.patient_key)).scalars().all()
    assert SECRET("MRN00007") in keys and not any("MRN" in k for k in keys)
    # every message was acknowledged after its commit: the session has nothing to redeliver
    again = ingest_mqtt(broker, [topic], store, SECRET, client_id=client_id, idle_timeout=0.5)
    assert again.records == 0


def test_messages_published_while_the_ingester_is_down_arrive_when_it_is_back(
    broker: str, tmp_path: Path
) -> None:
    engine = open_store(tmp_path / "store.db")
    topic, client_id = unique()
    subscribe_once(broker, topic, engine, client_id)
    publish(broker, topic, [event(i) for i in range(30)])
    first = ingest_mqtt(broker, [topic], engine, SECRET, client_id=client_id, max_events=10)
    assert first.accepted == 10
    publish(broker, topic, [event(i) for i in range(30, 50)])  # the twin is away
    second = ingest_mqtt(broker, [topic], engine, SECRET, client_id=client_id, idle_timeout=1.0)
    # the 20 left unacknowledged past --max-events and the 20 published while away, once each
    assert (second.accepted, second.duplicate) == (40, 0)
    assert event_ids(engine) == {f"m-{i}" for i in range(50)}
    engine.dispose()


_CHILD = """
import sys
from twinsight.connect import ingest_mqtt
from twinsight.govern import Pseudonymiser
from twinsight.store import open_store
url, topic, client_id, db, secret = sys.argv[1:6]
engine = open_store(db)
ingest_mqtt(url, [topic], engine, Pseudonymiser(secret.encode()), client_id=client_id,
            batch_size=50, flush_interval=60)
"""


def test_an_ingester_killed_mid_stream_loses_nothing_after_its_restart(
    broker: str, tmp_path: Path
) -> None:
    """SIGKILL between receiving messages and committing them: unacknowledged, so redelivered."""
    db = tmp_path / "store.db"
    engine = open_store(db)
    topic, client_id = unique()
    subscribe_once(broker, topic, engine, client_id)
    publish(broker, topic, [event(i) for i in range(100)])
    args = [broker, topic, client_id, str(db), SECRET_BYTES.decode()]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    child = subprocess.Popen([sys.executable, "-c", _CHILD, *args], env=env)
    try:
        wait_until(lambda: count(engine) >= 100, 60, "the child to store the first 100 events")
        client = publisher(broker)
        infos = []
        for i in range(100, 600):  # live, about 250 events a second
            infos.append(client.publish(topic, json.dumps(event(i)), qos=1))
            time.sleep(0.004)
            if i == 200:
                wait_until(lambda: count(engine) >= 150, 30, "the child to store more")
                child.send_signal(signal.SIGKILL)
                child.wait(10)
                at_kill = count(engine)
        for info in infos:
            info.wait_for_publish(30)
        client.disconnect()
        client.loop_stop()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert at_kill < 600  # it was killed mid-stream
    after = ingest_mqtt(broker, [topic], engine, SECRET, client_id=client_id, idle_timeout=1.5)
    assert count(engine) == 600 and event_ids(engine) == {f"m-{i}" for i in range(600)}
    assert after.accepted == 600 - at_kill
    engine.dispose()


# ----- a private broker that is killed and restarted ----------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateBroker:
    """``mosquitto`` on a free port, persisting to a temporary folder."""

    def __init__(self, folder: Path, extra: str = "") -> None:
        self.port = _free_port()
        self.folder = folder
        self.config = folder / "mosquitto.conf"
        self.config.write_text(
            # as root, mosquitto would switch to the 'mosquitto' user and fail to save here
            f"user {getpass.getuser()}\n"
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {folder}/\nmax_queued_messages 100000\n"
            f"autosave_interval 3600\nlog_dest none\n{extra}",
            encoding="utf-8",
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)], stderr=subprocess.DEVNULL
        )

        def listening() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                return False
            return True

        wait_until(listening, 10, "mosquitto to listen")

    def save_and_kill(self) -> None:
        """Write the persistence file (SIGUSR1), then kill -9: what it held survives."""
        assert self.process is not None
        saved = self.folder / "mosquitto.db"
        before = saved.stat().st_mtime_ns if saved.exists() else 0
        self.process.send_signal(signal.SIGUSR1)
        wait_until(lambda: saved.exists() and saved.stat().st_mtime_ns != before, 10, "the save")
        time.sleep(0.2)
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    if not Path(MOSQUITTO).is_file():
        pytest.skip("the mosquitto binary is not installed: the dropped-broker test starts one")
    folder = tmp_path / "broker"
    folder.mkdir()
    broker = PrivateBroker(folder)
    broker.start()
    yield broker
    broker.stop()


def test_a_dropped_broker_connection_is_resumed_and_nothing_is_lost(
    private_broker: PrivateBroker, tmp_path: Path
) -> None:
    engine = open_store(tmp_path / "store.db")
    url = private_broker.url
    topic, client_id = unique()
    subscribe_once(url, topic, engine, client_id)
    notes: list[str] = []
    stop = threading.Event()
    result: list[IngestReport] = []

    def run() -> None:
        result.append(
            ingest_mqtt(url, [topic], engine, SECRET, client_id=client_id, batch_size=600,
                        flush_interval=5, stop=stop, notify=notes.append)
        )  # fmt: skip

    ingester = threading.Thread(target=run)
    ingester.start()
    client = publisher(url)
    try:
        first = [client.publish(topic, json.dumps(event(i)), qos=1) for i in range(1000)]
        for info in first:
            info.wait_for_publish(30)
        wait_until(lambda: count(engine) >= 600, 30, "the first commit")
        time.sleep(0.3)  # the other 400 are received, uncommitted, unacknowledged
        private_broker.save_and_kill()
        # published while the broker is down: the publisher keeps them until it reconnects
        acked: set[int] = set()
        client.on_publish = lambda _c, _u, mid, _r, _p: acked.add(mid)
        second = [client.publish(topic, json.dumps(event(i)), qos=1) for i in range(1000, 1500)]
        time.sleep(1.0)
        private_broker.start()
        wanted = {info.mid for info in second}
        wait_until(lambda: wanted <= acked, 60, "the publisher to resend and get its PUBACKs")
        wait_until(lambda: count(engine) >= 1500, 60, f"every event to be stored: {notes}")
    finally:
        client.disconnect()
        client.loop_stop()
        stop.set()
        ingester.join(30)
    report = result[0]
    assert event_ids(engine) == {f"m-{i}" for i in range(1500)}
    assert report.accepted == 1500  # each event stored once
    assert report.duplicate >= 1  # the uncommitted ones, stored at the drop, came again
    assert any("reconnecting" in n for n in notes), notes
    assert any("session resumed" in n for n in notes), notes
    assert not any("Traceback" in n for n in notes)
    engine.dispose()


# ----- the command line ----------------------------------------------------------------------


def _cli(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "twinsight.cli", "ingest", "ward", "--home", str(home), *args]


def test_ingest_mqtt_command_counts_and_stops_cleanly_on_sigterm(
    broker: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    runner = CliRunner()
    assert runner.invoke(app, ["init", "ward", "--home", str(home)]).exit_code == 0
    topic, client_id = unique()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    options = ["--mqtt", broker, "--topic", topic, "--client-id", client_id, "--json"]
    engine = open_store(home / "ward" / "twin.db")
    subscribe_once(broker, topic, engine, client_id)  # the session exists from now on
    publish(broker, topic, [event(i) for i in range(20)] + [event(3), "{bad"])
    done = subprocess.run(
        _cli(home, *options, "--max-events", "22"), env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert (out["accepted"], out["duplicate"], out["quarantined"]) == (20, 1, 1)

    child = subprocess.Popen(
        _cli(home, *options), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        publish(broker, topic, [event(i) for i in range(20, 30)])
        wait_until(lambda: count(engine) >= 30, 60, "the live ingest")
        child.send_signal(signal.SIGTERM)
        stdout, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
        engine.dispose()
    assert child.returncode == 0, stderr
    assert json.loads(stdout)["accepted"] == 10 and "Traceback" not in stderr


def test_ingest_mqtt_command_bad_input_exits_2_with_the_fix(tmp_path: Path) -> None:
    home = tmp_path / "home"
    runner = CliRunner()
    assert runner.invoke(app, ["init", "ward", "--home", str(home)]).exit_code == 0
    port = _free_port()  # nothing listens there
    cases = [
        (["--mqtt", f"mqtt://nurse:hunter2@127.0.0.1:{port}", "--topic", "adt"],
         f"cannot connect to mqtt://127.0.0.1:{port}", "broker is running"),
        (["--mqtt", "mqtt://127.0.0.1:1883"], "needs at least one --topic", "--topic"),
        ([str(tmp_path / "x.csv"), "--mqtt", "mqtt://127.0.0.1:1883", "--topic", "a"],
         "not both", "another"),
        (["--topic", "a"], "need --mqtt", "--mqtt"),
        ([], "give event files or --mqtt", "events.csv"),
        (["--mqtt", "mqtts://127.0.0.1", "--topic", "a"], "not supported", "mqtt://"),
    ]  # fmt: skip
    for args, message, fix in cases:
        result = runner.invoke(app, ["ingest", "ward", "--home", str(home), *args])
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr and fix in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and "hunter2" not in result.stderr


def test_the_emulator_publisher_and_the_ingester_ride_out_a_broker_restart(
    private_broker: PrivateBroker, tmp_path: Path
) -> None:
    """``emulate hospital --mqtt`` live while the broker restarts: both ends reconnect."""
    rows = emulate_hospital(1, 3, beds=20).rows
    expected = emulate_hospital(1, 3, beds=20).defects
    engine = open_store(tmp_path / "store.db")
    url = private_broker.url
    topic, client_id = unique()
    subscribe_once(url, topic, engine, client_id)
    stop = threading.Event()
    ingested: list[IngestReport] = []
    sent: list[StreamCounts] = []
    ingest_notes: list[str] = []
    publish_notes: list[str] = []
    ingester = threading.Thread(
        target=lambda: ingested.append(
            ingest_mqtt(url, [topic], engine, SECRET, client_id=client_id, stop=stop,
                        notify=ingest_notes.append)
        )
    )  # fmt: skip
    span = max(due for due, _ in feed_schedule(rows, 1.0))  # seconds of event time
    streamer = threading.Thread(  # all of it in about 4 s
        target=lambda: sent.append(
            stream_mqtt(rows, url, topic, speed=span / 4, notify=publish_notes.append)
        )
    )
    ingester.start()
    streamer.start()
    try:
        time.sleep(1.5)
        private_broker.stop()  # a clean stop: the broker saves what it holds
        time.sleep(0.5)
        private_broker.start()
        streamer.join(60)
        assert sent and sent[0].sent == len(rows)
        accepted = len(rows) - len(expected.duplicate) - len(expected.malformed)
        wait_until(lambda: count(engine) >= accepted, 60, f"the rows: {ingest_notes}")
    finally:
        stop.set()
        ingester.join(30)
    report = ingested[0]
    assert report.accepted == accepted and count(engine) == accepted
    assert report.duplicate >= len(expected.duplicate)  # resent messages are duplicates too
    assert count(engine, QuarantineRow) == len(expected.malformed)
    assert any("connection lost" in n for n in publish_notes), publish_notes
    assert any("reconnected" in n for n in publish_notes + ingest_notes)
    engine.dispose()


def test_the_emulator_stops_with_a_clear_message_when_the_broker_refuses_the_topic(
    tmp_path: Path,
) -> None:
    """Mosquitto answers a publish its ACL denies with a failing PUBACK (MQTT v5)."""
    if not Path(MOSQUITTO).is_file():
        pytest.skip("the mosquitto binary is not installed: this test starts one with an ACL")
    acl = tmp_path / "acl"
    acl.write_text("topic readwrite allowed/#\n", encoding="utf-8")  # anonymous: only allowed/#
    broker = PrivateBroker(tmp_path, f"acl_file {acl}\n")
    broker.start()
    try:
        with pytest.raises(StreamError) as denied:
            stream_mqtt([event(1), event(2)], broker.url, "secret/adt")
        assert "refused 2 of 2 messages to 'secret/adt'" in str(denied.value)
        assert denied.value.hint
        assert stream_mqtt([event(1)], broker.url, "allowed/adt").sent == 1
    finally:
        broker.stop()
