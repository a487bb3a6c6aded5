"""Interaction records live from MQTT into a contact-centre twin (the shared broker at
``TWINSIGHT_MQTT_URL``; skipped without it): stored, quarantined with the reason, a
redelivery counted duplicate, and the CLI's --mqtt path on a contact-centre twin."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import func, select
from typer.testing import CliRunner

from twinsight.cli import app
from twinsight.connect import parse_mqtt_url
from twinsight.contact import ingest_interactions_mqtt
from twinsight.store import InteractionRow, QuarantineRow
from twinsight.twin import init_twin


@pytest.fixture
def broker() -> str:
    url = os.environ.get("TWINSIGHT_MQTT_URL")
    if not url:
        pytest.skip("TWINSIGHT_MQTT_URL is not set: the MQTT tests need a running broker")
    return url


def _publish(url: str, topic: str, payloads: list[str]) -> None:
    target = parse_mqtt_url(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.connect(target.host, target.port)
    client.loop_start()
    try:
        infos = [client.publish(topic, p, qos=1) for p in payloads]
        for info in infos:
            info.wait_for_publish(30)
    finally:
        client.disconnect()
        client.loop_stop()


def _call(i: int, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "interaction_id": f"L{i}",
        "arrived_at": f"2026-01-05T09:{i:02d}:00Z",
        "queue": "billing",
        "wait_seconds": 12.5,
        "answered": True,
        "handle_seconds": 240,
        "satisfaction": 4,
        "customer_id": f"C{i}",
    }
    return {**row, **changes}


def _count(engine: object, table: type) -> int:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_interactions_from_mqtt(tmp_path: Path, broker: str) -> None:
    twin = init_twin("live", "contact-centre", home=tmp_path)
    tag = uuid.uuid4().hex[:10]
    topic, cid = f"twinsight-test/{tag}/calls", f"ts-contact-{tag}"
    first = ingest_interactions_mqtt(broker, [topic], twin.engine, twin.pseudonymise,
                                     client_id=cid, idle_timeout=0.3)  # fmt: skip
    assert first.accepted == 0  # the session exists now: the broker keeps what follows
    batch = json.dumps([_call(1), _call(2, answered="false", handle_seconds=None)])
    lines = "\n".join(json.dumps(_call(i)) for i in (3, 4))
    bad = json.dumps(_call(5, wait_seconds=-1))
    _publish(broker, topic, [json.dumps(_call(0)), batch, lines, bad, json.dumps(_call(0))])
    report = ingest_interactions_mqtt(broker, [topic], twin.engine, twin.pseudonymise,
                                      client_id=cid, max_events=7, idle_timeout=5)  # fmt: skip
    assert (report.accepted, report.duplicate, report.quarantined) == (5, 1, 1)
    assert "wait_seconds -1" in report.reasons[0]
    assert _count(twin.engine, InteractionRow) == 5 and _count(twin.engine, QuarantineRow) == 1
    twin.close()


def test_cli_mqtt_on_a_contact_twin(tmp_path: Path, broker: str) -> None:
    runner = CliRunner()
    home = ["--home", str(tmp_path)]
    assert runner.invoke(app, ["init", "cc", "--template", "contact-centre", *home]).exit_code == 0
    topic = f"twinsight-test/{uuid.uuid4().hex[:10]}/calls"
    args = ["ingest", "cc", "--mqtt", broker, "--topic", topic, "--idle-timeout", "0.3", "--json"]
    result = runner.invoke(app, [*args, *home])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["accepted"] == 0 and out["quarantined"] == 0


def test_emulator_streams_to_a_contact_twin(tmp_path: Path, broker: str) -> None:
    runner = CliRunner()
    home = ["--home", str(tmp_path)]
    assert runner.invoke(app, ["init", "cc", "--template", "contact-centre", *home]).exit_code == 0
    tag = uuid.uuid4().hex[:10]
    topic, cid = f"twinsight-test/{tag}/calls", f"ts-contact-{tag}"
    listen = ["ingest", "cc", "--mqtt", broker, "--topic", topic, "--client-id", cid]
    first = runner.invoke(app, [*listen, "--idle-timeout", "0.3", *home])
    assert first.exit_code == 0, first.output  # the session: the broker keeps what follows
    emulate = ["emulate", "contact-centre", "--days", "1", "--calls", "100", "--seed", "3"]
    sent = runner.invoke(app, [*emulate, "--mqtt", broker, "--topic", topic, "--json"])
    assert sent.exit_code == 0, sent.output
    published = json.loads(sent.output)
    assert published["sent"] == published["records"] > 50
    got = runner.invoke(app, [*listen, "--idle-timeout", "2", "--json", *home])
    counts = json.loads(got.output)
    total = counts["accepted"] + counts["duplicate"] + counts["quarantined"]
    assert got.exit_code == 0 and total == published["sent"] and counts["accepted"] > 50
