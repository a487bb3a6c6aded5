"""MQTT ingest benchmark: ADT events per second, end to end, from a publisher through a real
Mosquitto into a fresh twin store, durable (each event committed before its PUBACK).

Emulated hospital events (default defects: a few quarantined, a few repeated) are published at
QoS 1 by a separate process (``mosquitto_pub -l`` when installed, else a paho publisher), one
event per message and, in a second run, ``--per-message`` events per message (a JSON array),
while ``twinsight.connect.ingest_mqtt`` stores them. events/s = events / (first publish -> last
commit); also the ingester's events per CPU second (its process time: what one uncontended
core would do, the publisher and the broker aside). By default the broker is a private
``mosquitto`` on a free port with an unlimited queue (``max_queued_messages 0``: a broker with
the default 1,000 drops messages when the twin falls behind a fast publisher); ``--url`` uses
another broker. SQLite always; PostgreSQL too when ``TWINSIGHT_PG_URL`` is set (a fresh
schema, dropped afterwards).

    python benchmarks/mqtt.py                   # 100,000 events per run
    python benchmarks/mqtt.py --events 20000    # quicker

The last line of the output is one JSON object. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import Engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from twinsight.connect import ADT_FIELDS, ingest_mqtt, parse_mqtt_url  # noqa: E402
from twinsight.emulate import emulate_hospital  # noqa: E402
from twinsight.govern import Pseudonymiser  # noqa: E402
from twinsight.store import IngestRow, make_engine, open_store  # noqa: E402

GOAL = 5_000
#: Messages per publisher run, and how far (events) the publisher may run ahead of the store:
#: Mosquitto 2.0 numbers a session's pending messages with 16-bit packet ids, and with more than
#: 65,535 waiting for one subscriber its deliveries stall (observed with 2.0.11), so the
#: benchmark keeps the backlog well below that, as a real feed's rate would.
CHUNK = 10_000
AHEAD = 30_000

_PUBLISHER = """
import sys, time, paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
host, port, topic, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
c.max_inflight_messages_set(100)
acked = [0]
c.on_publish = lambda *a: acked.__setitem__(0, acked[0] + 1)
c.connect(host, port)
while not c.is_connected():
    c.loop(0.1)
lines = open(path, encoding="utf-8").read().splitlines()
for i, line in enumerate(lines):
    c.publish(topic, line, qos=1)
    while i + 1 - acked[0] >= 100:
        c.loop(1.0)
while acked[0] < len(lines):
    c.loop(1.0)
c.disconnect()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def private_broker(folder: Path) -> Iterator[str]:
    """A ``mosquitto`` on a free loopback port with an unlimited queue; its URL."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = _free_port()
    config = folder / "mosquitto.conf"
    config.write_text(
        f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous true\n"
        "max_queued_messages 0\nlog_dest none\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen([binary, "-c", str(config)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the private mosquitto did not start") from None
                time.sleep(0.05)
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def pg_schema(base: str) -> Iterator[str]:
    """A fresh PostgreSQL schema (dropped afterwards); the URL whose search_path is it."""
    admin = make_engine(base)
    schema = f"ts_bench_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _messages(rows: list[dict[str, Any]], per_message: int) -> list[str]:
    records = [{k: r[k] for k in ADT_FIELDS if r.get(k) is not None} for r in rows]
    if per_message == 1:
        return [json.dumps(r) for r in records]
    return [json.dumps(records[i : i + per_message]) for i in range(0, len(records), per_message)]


def _progress(engine: Engine, source: str) -> int:
    """Records the running ingest of ``source`` has committed (its ``ingests`` row)."""
    row = IngestRow
    total = row.accepted + row.duplicate + row.quarantined
    query = select(func.coalesce(func.max(total), 0)).where(
        row.source == source, row.status == "running"
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def _feed(
    url: str, topic: str, messages: list[str], per_message: int, work: Path, publisher: str,
    progress: Any,
) -> None:  # fmt: skip
    """Publish ``messages`` in chunks, each once the store is within ``AHEAD`` events of it."""
    target = parse_mqtt_url(url)
    host, port = target.host, str(target.port)
    step = max(1, CHUNK // per_message)
    for start in range(0, len(messages), step):
        chunk = messages[start : start + step]
        path = work / f"chunk-{start}.txt"
        path.write_text("\n".join(chunk) + "\n", encoding="utf-8")
        while start * per_message - progress() > AHEAD:
            time.sleep(0.05)
        if publisher == "mosquitto_pub":
            args = ["mosquitto_pub", "-h", host, "-p", port, "-V", "mqttv5", "-q", "1"]
            with path.open("rb") as stdin:
                subprocess.run([*args, "-t", topic, "-l"], stdin=stdin, check=True)
        else:
            args = [sys.executable, "-c", _PUBLISHER, host, port, topic, str(path)]
            subprocess.run(args, check=True)


def _run(
    url: str, store: str | Path, messages: list[str], rows: int, per_message: int, work: Path,
    publisher: str,
) -> dict[str, Any]:  # fmt: skip
    engine = open_store(store)
    watcher = make_engine(store)
    secret = Pseudonymiser(b"benchmark-secret-0123456789abcdef")
    topic, client_id = f"twinsight-bench/{uuid.uuid4().hex[:12]}", uuid.uuid4().hex[:20]
    source = f"{parse_mqtt_url(url)}/{topic}"
    try:
        ingest_mqtt(url, [topic], engine, secret, client_id=client_id, idle_timeout=0.2)
        feeder = threading.Thread(
            target=_feed,
            args=(url, topic, messages, per_message, work, publisher),
            kwargs={"progress": lambda: _progress(watcher, source)},
        )
        t0, c0 = time.perf_counter(), time.process_time()
        feeder.start()
        report = ingest_mqtt(
            url, [topic], engine, secret, client_id=client_id, max_events=rows, idle_timeout=60
        )
        t1, c1 = time.perf_counter(), time.process_time()
        feeder.join()
    finally:
        engine.dispose()
        watcher.dispose()
    return {
        "events": rows,
        "messages": len(messages),
        "accepted": report.accepted,
        "duplicate": report.duplicate,
        "quarantined": report.quarantined,
        "lost": rows - report.records,
        "seconds": t1 - t0,
        "events_per_s": report.records / (t1 - t0),
        "events_per_cpu_s": report.records / (c1 - c0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="events per run")
    parser.add_argument("--per-message", type=int, default=100, help="events per message (run 2)")
    parser.add_argument("--url", help="use this broker instead of a private mosquitto")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)

    t = time.perf_counter()
    days = max(1, args.events // 450 + 1)  # about 520 events a day at 400 beds
    rows = emulate_hospital(days, args.seed).rows[: args.events]
    print(f"emulated {len(rows):,} rows in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    publisher = "mosquitto_pub" if shutil.which("mosquitto_pub") else "paho"
    stores = ["sqlite"] + (["postgresql"] if os.environ.get("TWINSIGHT_PG_URL") else [])
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="twinsight-mqtt-bench-") as tmp:
        work = Path(tmp)
        broker = private_broker(work) if args.url is None else _given(args.url)
        with broker as url:
            for store_kind in stores:
                for per_message in sorted({1, args.per_message}):
                    messages = _messages(rows, per_message)
                    key = f"{store_kind}/{per_message}_per_message"
                    run = (url, messages, len(rows), per_message, work, publisher)
                    if store_kind == "sqlite":
                        r = _run(url, work / f"{key.replace('/', '-')}.sqlite", *run[1:])
                    else:
                        with pg_schema(os.environ["TWINSIGHT_PG_URL"]) as pg:
                            r = _run(url, pg, *run[1:])
                    results[key] = r
                    print(
                        f"{key:26} {r['events']:,} events in {r['messages']:,} messages: "
                        f"{r['events_per_s']:>7,.0f} events/s end to end ({r['seconds']:.1f} s), "
                        f"ingester {r['events_per_cpu_s']:,.0f} events per CPU second; "
                        f"{r['accepted']:,} accepted, {r['duplicate']:,} duplicate, "
                        f"{r['quarantined']:,} quarantined, {r['lost']:,} lost  "
                        f"{'PASS' if r['events_per_s'] >= GOAL else 'FAIL'} vs {GOAL:,}"
                    )
    summary = {
        "events": len(rows),
        "publisher": publisher,
        "broker": "private mosquitto" if args.url is None else "given",
        "events_per_s": {k: round(v["events_per_s"]) for k, v in results.items()},
        "events_per_cpu_s": {k: round(v["events_per_cpu_s"]) for k, v in results.items()},
        "lost": {k: v["lost"] for k, v in results.items()},
        "goal": GOAL,
        "goal_met": {k: v["events_per_s"] >= GOAL for k, v in results.items()},
    }
    print(json.dumps(summary))
    return 0


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


if __name__ == "__main__":
    raise SystemExit(main())
