"""``twinsight emulate hospital``: write a synthetic ADT event history (see docs/emulator.md)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from ..emulate import Defects, emulate_hospital, event_format, write_events
from ..emulate._fhir_writer import FHIR_FORMATS, write_fhir
from ._app import app
from ._output import fail, stderr, stdout

__all__ = ["emulate_app"]

emulate_app = typer.Typer(
    help="Write emulated reality: synthetic event histories to test a twin against.",
    no_args_is_help=True,
)
app.add_typer(emulate_app, name="emulate")

_DEFAULTS = Defects()


@emulate_app.command()
def hospital(
    days: Annotated[int, typer.Option("--days", help="Days of history to write.")] = 90,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Random seed.")] = 1,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Output file: .csv, .jsonl or .parquet.", show_default=False
        ),
    ] = None,
    beds: Annotated[int, typer.Option("--beds", help="Inpatient beds (wards and ICU).")] = 400,
    start: Annotated[
        str, typer.Option("--start", help="First day of the history, YYYY-MM-DD (UTC).")
    ] = "2026-01-05",
    missing: Annotated[
        float, typer.Option("--missing", help="Rate of dropped events (per event).")
    ] = _DEFAULTS.missing,
    duplicate: Annotated[
        float, typer.Option("--duplicate", help="Rate of events written twice (per event).")
    ] = _DEFAULTS.duplicate,
    late: Annotated[
        float, typer.Option("--late", help="Rate of events written 1-48 h late (per event).")
    ] = _DEFAULTS.late,
    malformed: Annotated[
        float, typer.Option("--malformed", help="Rate of malformed rows (per event).")
    ] = _DEFAULTS.malformed,
    clean: Annotated[bool, typer.Option("--clean", help="No defects at all.")] = False,
    out_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="adt (ADT rows, by the extension of --out) or fhir (FHIR R4 Encounters: "
            ".ndjson one per line, .json a Bundle; written from the true events, no defects).",
        ),
    ] = "adt",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (counts) on stdout.")
    ] = False,
    mqtt: Annotated[
        str | None,
        typer.Option(
            "--mqtt", metavar="URL", help="Publish live to a broker (QoS 1).", show_default=False
        ),
    ] = None,
    topic: Annotated[
        str | None, typer.Option("--topic", help="MQTT topic to publish to.", show_default=False)
    ] = None,
    http: Annotated[
        str | None,
        typer.Option(
            "--http", metavar="URL", help="POST live to a Twinsight service.", show_default=False
        ),
    ] = None,
    twin: Annotated[
        str | None,
        typer.Option("--twin", help="The twin on the service (--http).", show_default=False),
    ] = None,
    speed: Annotated[
        float, typer.Option("--speed", help="Live pace, x real time (0: as fast as possible).")
    ] = 0.0,
) -> None:
    """A general acute hospital (ED, MED1, MED2, SURG, ORTHO, ICU): ADT events with defects."""
    if mqtt is not None or http is not None:
        from ._live import emulate_live

        if out_format != "adt":
            fail("--format fhir writes a file; --mqtt/--http stream ADT rows", "drop --format")
        rates = (missing, duplicate, late, malformed)
        emulate_live(
            days=days,
            seed=seed,
            beds=beds,
            start=start,
            defects=rates,
            clean=clean,
            out=out,
            mqtt=mqtt,
            topic=topic,
            http=http,
            twin=twin,
            speed=speed,
            as_json=as_json,
        )
        return
    if out is None:
        fail("missing option '--out'", "give the file to write, e.g. --out events.csv")
    if days < 1:
        fail(f"--days must be a whole number of days >= 1, got {days}", "e.g. --days 90")
    if seed < 0:
        fail(f"--seed must be >= 0, got {seed}", "e.g. --seed 1")
    if beds < 10:
        fail(f"--beds must be at least 10, got {beds}", "e.g. --beds 400")
    try:
        first = date.fromisoformat(start)
    except ValueError:
        fail(f"--start '{start}' is not a date", "write it as YYYY-MM-DD, e.g. --start 2026-01-05")
    if out_format not in ("adt", "fhir"):
        fail(f"--format must be adt or fhir, got '{out_format}'", "e.g. --format fhir")
    if out_format == "fhir" and out.suffix.lower() not in FHIR_FORMATS:
        fail(f"--out: FHIR output needs .ndjson or .json, not {out}", "e.g. --out visits.ndjson")
    try:
        if out_format == "adt":
            event_format(out)
    except ValueError as exc:
        fail(f"--out: {exc}", "name the file events.csv, events.jsonl or events.parquet")
    try:
        defects = (
            Defects.none()
            if clean
            else Defects(missing=missing, duplicate=duplicate, late=late, malformed=malformed)
        )
    except ValueError as exc:
        fail(str(exc), "each of --missing/--duplicate/--late/--malformed is in [0, 1)")
    try:
        out.open("a", encoding="utf-8").close()
    except OSError as exc:
        fail(f"--out: cannot write {out}: {exc.strerror}", "choose a writable file path")
    result = emulate_hospital(days, seed, beds=beds, start=first, defects=defects)
    encounters = 0
    if out_format == "fhir":
        encounters = write_fhir(result.truth.events, out)
        count = len(result.truth.events)
    else:
        count = write_events(result.rows, out)
    if as_json:
        summary = {
            "out": str(out),
            "events": count,
            "true_events": len(result.truth.events),
            "days": days,
            "start": first.isoformat(),
            "beds": beds,
            "seed": seed,
            "defects": {k: len(v) for k, v in vars(result.defects).items()},
        }
        if out_format == "fhir":
            summary.update(format="fhir", encounters=encounters, defects={})
        stdout.file.write(json.dumps(summary) + "\n")
        return
    what = f"{encounters} FHIR encounters of {count} events" if out_format == "fhir" else ""
    stderr.print(
        f"wrote {what or f'{count} events'} ({days} days from {first}, {beds} beds, "
        f"seed {seed}) to {out}",
        highlight=False,
        markup=False,
    )
