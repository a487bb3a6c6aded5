"""Twin commands: ``twinsight init`` (make a twin) and ``twinsight ingest`` (event files in)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from ..connect import FhirReport, IngestError, IngestReport, replay_path, stop_on_signals
from ..govern import KEY_ENV, PseudonymKeyError, audit
from ..twin import TEMPLATES, Twin, TwinError, init_twin, open_twin
from ._app import app
from ._output import fail, stdout

__all__ = ["ingest", "init"]

NameArg = Annotated[str, typer.Argument(help="The twin's name.", show_default=False)]
HomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="Folder holding twins (default: $TWINSIGHT_HOME, else ~/.twinsight).",
        show_default=False,
    ),
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (postgresql://user@host:5432/db) instead of the twin's SQLite file.",
        show_default=False,
    ),
]


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


@contextmanager
def _errors(db: str | None) -> Iterator[None]:
    """Turn the expected failures into one message with a fix and exit 2 (no traceback)."""
    try:
        yield
    except (TwinError, IngestError) as exc:
        fail(str(exc))
    except PseudonymKeyError as exc:
        fail(str(exc), f"set {KEY_ENV} or restore the twin's secrets/pseudonym.key")
    except (ArgumentError, NoSuchModuleError):
        fail(
            f"--db: '{_safe_url(db or '')}' is not a database URL",
            "use postgresql://USER@HOST:5432/DATABASE",
        )
    except SQLAlchemyError as exc:
        where = f"--db {_safe_url(db)}" if db else "the twin's SQLite store"
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        fail(
            f"{where}: database error: {detail}",
            "check that the server is running and the URL is right" if db else None,
        )


def _open(make: Callable[[], Twin], db: str | None) -> Twin:
    """Run ``make`` (init or open a twin), exiting 2 with a message on the expected failures."""
    with _errors(db):
        return make()
    raise AssertionError("unreachable")  # pragma: no cover


def _fhir_counts(report: IngestReport) -> dict[str, int]:
    """``resources`` read and ``skipped`` (no movement) of a FHIR file; nothing for others."""
    if isinstance(report, FhirReport):
        return {"resources": report.resources, "skipped": report.skipped}
    return {}


@app.command()
def init(
    name: NameArg,
    template: Annotated[
        str, typer.Option("--template", "-t", help=f"One of: {', '.join(TEMPLATES)}.")
    ] = "hospital",
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Create a twin: its folder, a pseudonym key (0600), twin.yaml and the migrated store."""
    twin = _open(lambda: init_twin(name, template, home=home, db_url=db), db)
    twin.close()
    if as_json:
        stdout.file.write(
            json.dumps({"name": name, "template": twin.template, "path": str(twin.path)}) + "\n"
        )
        return
    stdout.print(
        f"[green]OK[/] twin '{escape(name)}' ({escape(twin.template)}) in {escape(str(twin.path))}",
        highlight=False,
    )


def _replay(
    name: str, files: list[Path], speed: float, home: Path | None, db: str | None, as_json: bool
) -> None:
    """``ingest --replay``: one file fed at ``speed`` x real time; exit 130 when stopped."""
    if not (math.isfinite(speed) and speed > 0):
        fail(f"--replay must be a positive speed, got {speed}", "e.g. --replay 60")
    if len(files) != 1:
        fail(f"--replay feeds one file, got {len(files)}", "run one 'ingest --replay' per file")
    if not files[0].is_file():
        fail(f"{files[0]}: no such file", "give the path of an ADT event file")
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    try:
        with _errors(db), stop_on_signals() as stop:
            result = replay_path(files[0], twin.engine, twin.pseudonymise, speed, stop=stop)
            audit.ingested(twin.engine, result.ingest)
    finally:
        twin.close()
    r = result.ingest
    if as_json:
        counts = {"accepted": r.accepted, "duplicate": r.duplicate, "quarantined": r.quarantined}
        out = {
            "twin": name,
            **counts,
            "files": [
                {"source": r.source, "format": r.format, **counts, "resumed_from": r.resumed_from}
            ],
            "replay": {
                "speed": speed,
                "interrupted": result.interrupted,
                "elapsed_s": round(result.elapsed_s, 3),
                "span_s": result.span_s,
            },
        }
        stdout.file.write(json.dumps(out) + "\n")
    else:
        stopped = " (stopped; the next ingest of the file goes on from here)"
        stdout.print(
            f"{escape(r.source)}: {r.accepted} accepted, {r.duplicate} duplicate, "
            f"{r.quarantined} quarantined in {result.elapsed_s:.1f} s at {speed:g}x"
            f"{stopped if result.interrupted else ''}",
            highlight=False,
        )
    if result.interrupted:
        raise typer.Exit(130)


@app.command()
def ingest(
    name: NameArg,
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="ADT event files: CSV, JSON Lines or Parquet.", show_default=False),
    ] = None,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object with the counts.")
    ] = False,
    replay: Annotated[
        float | None,
        typer.Option(
            "--replay",
            metavar="SPEED",
            help="Feed the file as if live at SPEED x real time (60: an hour of events a "
            "minute); Ctrl-C stops, keeping what was fed.",
            show_default=False,
        ),
    ] = None,
    mqtt: Annotated[
        str | None,
        typer.Option(
            "--mqtt",
            metavar="URL",
            help="Subscribe to a broker instead (mqtt://[USER:PASSWORD@]HOST:1883), QoS 1, "
            "until Ctrl-C / SIGTERM; see docs/mqtt.md.",
            show_default=False,
        ),
    ] = None,
    topic: Annotated[
        list[str] | None,
        typer.Option("--topic", help="MQTT topic filter (repeatable).", show_default=False),
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(
            "--client-id",
            help="MQTT session name (default: derived from the store and topics).",
            show_default=False,
        ),
    ] = None,
    max_events: Annotated[
        int | None,
        typer.Option("--max-events", help="MQTT: stop after N events.", show_default=False),
    ] = None,
    idle_timeout: Annotated[
        float | None,
        typer.Option(
            "--idle-timeout",
            help="MQTT: stop after this many seconds without a message.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Ingest ADT event files or MQTT topics (--mqtt); repeats add nothing, bad ones quarantined."""
    if mqtt is not None or topic or max_events is not None or idle_timeout is not None:
        from ._live import ingest_from_mqtt

        if mqtt is None:
            fail(
                "--topic/--max-events/--idle-timeout need --mqtt URL",
                "e.g. --mqtt mqtt://HOST:1883",
            )
        ingest_from_mqtt(
            name,
            files or [],
            mqtt,
            topic or [],
            client_id,
            max_events,
            idle_timeout,
            home,
            db,
            as_json,
        )
        return
    if not files:
        fail("give event files or --mqtt URL", "e.g. twinsight ingest NAME events.csv")
    files = list(files)
    if replay is not None:
        _replay(name, files, replay, home, db, as_json)
        return
    for path in files:
        if not path.is_file():
            fail(f"{path}: no such file", "give the path of a CSV or JSON Lines file of ADT events")
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    if twin.template == "patient":  # readings and profiles: cli/_patient.py
        from ._patient import patient_ingest

        patient_ingest(twin, files, db, as_json)
        return
    if twin.template == "outbreak":  # daily counts: cli/_outbreak.py
        from ._outbreak import outbreak_ingest

        outbreak_ingest(twin, files, db, as_json)
        return
    if twin.template == "social-services":  # case events: cli/_casework.py
        from ._casework import casework_ingest

        casework_ingest(twin, files, db, as_json)
        return
    if twin.template == "contact-centre":  # interaction records: cli/_contact.py
        from ._contact import contact_ingest

        contact_ingest(twin, files, db, as_json)
        return
    reports: list[IngestReport] = []
    try:
        for path in files:
            with _errors(db):
                reports.extend(twin.ingest([path]))
    finally:
        twin.close()
    totals = {
        key: sum(getattr(r, key) for r in reports)
        for key in ("accepted", "duplicate", "quarantined")
    }
    if as_json:
        out = {
            "twin": name,
            **totals,
            "files": [
                {
                    "source": r.source,
                    "format": r.format,
                    "accepted": r.accepted,
                    "duplicate": r.duplicate,
                    "quarantined": r.quarantined,
                    "resumed_from": r.resumed_from,
                    **_fhir_counts(r),
                }
                for r in reports
            ],
        }
        stdout.file.write(json.dumps(out) + "\n")
        return
    for r in reports:
        resumed = f" (resumed at byte {r.resumed_from})" if r.resumed_from else ""
        if isinstance(r, FhirReport):  # events from FHIR resources: say how many were read
            resumed += f" from {r.resources} FHIR resources ({r.skipped} skipped)"
        stdout.print(
            f"{escape(r.source)}: {r.accepted} accepted, {r.duplicate} duplicate, "
            f"{r.quarantined} quarantined{resumed}",
            highlight=False,
        )
    if len(reports) > 1:
        stdout.print(
            f"total: {totals['accepted']} accepted, {totals['duplicate']} duplicate, "
            f"{totals['quarantined']} quarantined",
            highlight=False,
        )
