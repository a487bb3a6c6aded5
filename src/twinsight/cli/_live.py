"""Live data on the command line: ``ingest --mqtt`` and ``emulate hospital --mqtt/--http``.

The command definitions stay in ``_twin`` and ``_emulate``; their live branches call these.
"""

from __future__ import annotations

import json
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from rich.markup import escape

from ..connect import MqttError, parse_mqtt_url, stop_on_signals
from ..emulate import Defects, StreamCounts, StreamError, emulate_hospital, stream_http, stream_mqtt
from ..twin import open_twin
from ._output import fail, stderr, stdout
from ._twin import _errors, _open

__all__ = ["emulate_live", "ingest_from_mqtt"]


def _say(message: str) -> None:
    stderr.print(message, markup=False, highlight=False)


def _broker(url: str) -> str:
    """The broker's address for messages (never the password); fails on a bad URL."""
    try:
        return str(parse_mqtt_url(url))
    except MqttError as exc:
        fail(f"--mqtt: {exc}", exc.hint)


def ingest_from_mqtt(
    name: str,
    files: list[Path],
    url: str,
    topics: list[str],
    client_id: str | None,
    max_events: int | None,
    idle_timeout: float | None,
    home: Path | None,
    db: str | None,
    as_json: bool,
) -> None:
    """``twinsight ingest NAME --mqtt URL --topic T``: subscribe until stopped, print counts."""
    if files:
        fail(
            f"give event files or --mqtt, not both (got {len(files)} file(s) and --mqtt)",
            "run one 'twinsight ingest' for the files and another for the broker",
        )
    if not topics or any(not t.strip() for t in topics):
        fail("--mqtt needs at least one --topic", "e.g. --topic adt/events (repeatable)")
    if max_events is not None and max_events < 1:
        fail(f"--max-events must be >= 1, got {max_events}", "e.g. --max-events 1000")
    if idle_timeout is not None and not idle_timeout > 0:
        fail(f"--idle-timeout must be > 0 seconds, got {idle_timeout}", "e.g. --idle-timeout 30")
    _broker(url)
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    try:
        with _errors(db), stop_on_signals() as stop:
            try:
                live: Any = twin.ingest_mqtt
                if twin.template == "contact-centre":  # interaction records: twinsight.contact
                    from ..contact import ingest_mqtt

                    live = partial(ingest_mqtt, twin)
                report = live(
                    url,
                    topics,
                    client_id=client_id,
                    max_events=max_events,
                    idle_timeout=idle_timeout,
                    stop=stop,
                    notify=_say,
                )
            except MqttError as exc:
                fail(str(exc), exc.hint)
    finally:
        twin.close()
    counts = {"accepted": report.accepted, "duplicate": report.duplicate}
    counts["quarantined"] = report.quarantined
    if as_json:
        out = {"twin": name, **counts, "source": report.source, "format": "mqtt"}
        stdout.file.write(json.dumps(out) + "\n")
        return
    stdout.print(
        f"{escape(report.source)}: {report.accepted} accepted, {report.duplicate} duplicate, "
        f"{report.quarantined} quarantined",
        highlight=False,
    )


def emulate_live(
    *,
    days: int,
    seed: int,
    beds: int,
    start: str,
    defects: tuple[float, float, float, float],
    clean: bool,
    out: Path | None,
    mqtt: str | None,
    topic: str | None,
    http: str | None,
    twin: str | None,
    speed: float,
    as_json: bool,
) -> None:
    """``emulate hospital --mqtt URL --topic T`` or ``--http URL --twin NAME``: stream it live."""
    if out is not None or (mqtt is not None and http is not None):
        fail("give one of --out, --mqtt or --http", "write a file, or stream to one peer")
    if mqtt is not None and not topic:
        fail("--mqtt needs --topic", "e.g. --topic adt/events")
    if http is not None and not twin:
        fail("--http needs --twin NAME (the twin on the service)", "e.g. --twin demo")
    if not speed >= 0:
        fail(f"--speed must be >= 0, got {speed}", "e.g. --speed 60 (0: as fast as possible)")
    if days < 1 or seed < 0 or beds < 10:
        fail(
            f"bad --days {days} / --seed {seed} / --beds {beds}", "days >= 1, seed >= 0, beds >= 10"
        )
    try:
        first = date.fromisoformat(start)
        missing, duplicate, late, malformed = defects
        chosen = Defects.none() if clean else Defects(missing, duplicate, late, malformed)
    except ValueError as exc:
        fail(f"--start/defect rates: {exc}", "--start YYYY-MM-DD; each rate in [0, 1)")
    where = _broker(mqtt) if mqtt is not None else str(http)
    result = emulate_hospital(days, seed, beds=beds, start=first, defects=chosen)
    try:
        with stop_on_signals() as stop:
            if mqtt is not None:
                counts = stream_mqtt(
                    result.rows, mqtt, str(topic), speed=speed, stop=stop, notify=_say
                )
            else:
                counts = stream_http(
                    result.rows, str(http), str(twin), speed=speed, stop=stop, notify=_say
                )
    except MqttError as exc:
        fail(str(exc), exc.hint)
    except StreamError as exc:
        fail(str(exc), exc.hint)
    _summary(counts, len(result.rows), where, topic if mqtt else twin, as_json)


def _summary(counts: StreamCounts, rows: int, where: str, to: str | None, as_json: bool) -> None:
    if as_json:
        out = {"to": where, "topic" if "mqtt" in where else "twin": to, "events": rows}
        out.update(vars(counts) if "mqtt" not in where else {"sent": counts.sent})
        stdout.file.write(json.dumps(out) + "\n")
        return
    said = ""
    if "mqtt" not in where:
        said = (
            f": {counts.accepted} accepted, {counts.duplicate} duplicate, "
            f"{counts.quarantined} quarantined"
        )
    _say(f"sent {counts.sent} of {rows} events to {where} ({to}){said}")
