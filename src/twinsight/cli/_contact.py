"""The contact-centre twin on the command line: ``emulate contact-centre``; ``ingest``,
``calibrate``, ``forecast`` and ``compare`` dispatch here for a twin made with
``--template contact-centre``; ``twinsight staffing NAME`` prints the per-interval plan.
The work is in ``twinsight.contact``; these functions parse, call and print."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import yaml
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..contact import (
    METHODS,
    WEEKDAYS,
    ContactCalibrationError,
    ContactConfigError,
    ContactIngestError,
    contact_settings,
    emulate_contact_centre,
    run_calibration,
    run_compare,
    run_forecast,
    run_staffing,
    write_interactions,
)
from ..contact import ingest as ingest_files
from ..decide import Comparison, PairedTarget, ScenarioError
from ..twin import Twin, open_twin, twin_template
from ._app import app
from ._emulate import emulate_app
from ._output import fail, print_ingest_reports, stderr, stdout
from ._twin import DbOpt, HomeOpt, NameArg, _errors, _open
from ._where import run_on

__all__ = [
    "contact_calibrate",
    "contact_compare",
    "contact_forecast",
    "contact_ingest",
    "emulate_contact",
    "is_contact",
    "staffing_command",
]

TEMPLATE = "contact-centre"
_EXPECTED = (
    ContactConfigError,
    ContactIngestError,
    ContactCalibrationError,
    ScenarioError,
    ValueError,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
#: ``--executor``, ``--cluster``, ``--workers`` of forecast and compare (docs/scale.md).
Where = tuple[str, str | None, int | None]


def is_contact(name: str, home: Path | None) -> bool:
    """Whether twin ``name`` was made from this template (its twin.yaml alone; any problem reads
    as no, and the usual command reports it)."""
    return twin_template(name, home) == TEMPLATE


def _fail_on(exc: Exception) -> NoReturn:
    if isinstance(exc, ContactConfigError):
        fail(str(exc), exc.hint)
    if isinstance(exc, ContactIngestError):
        fail(str(exc), "see examples/contact/interactions.csv for the layout")
    if isinstance(exc, ContactCalibrationError):
        fail(str(exc), "ingest more interactions, then 'twinsight calibrate NAME'")
    fail(str(exc))


def _write(obj: dict[str, Any]) -> None:
    stdout.file.write(json.dumps(obj, allow_nan=False) + "\n")
    stdout.file.flush()


@emulate_app.command("contact-centre")
def emulate_contact(
    days: Annotated[int, typer.Option("--days", help="Days of history to write.")] = 28,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Random seed.")] = 1,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output file: .csv or .parquet.", show_default=False),
    ] = None,
    calls: Annotated[
        float, typer.Option("--calls", help="Calls on an ordinary weekday (all queues).")
    ] = 2400.0,
    start: Annotated[
        str, typer.Option("--start", help="First day, YYYY-MM-DD (UTC).")
    ] = "2026-01-05",
    clean: Annotated[bool, typer.Option("--clean", help="No defects at all.")] = False,
    mqtt: Annotated[
        str | None,
        typer.Option(
            "--mqtt",
            metavar="URL",
            help="Publish live to a broker (QoS 1) instead.",
            show_default=False,
        ),
    ] = None,
    topic: Annotated[
        str | None, typer.Option("--topic", help="MQTT topic to publish to.", show_default=False)
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A contact centre (billing, technical, sales): interaction records with defects, from
    its own generative model (double intraday peak, Monday surge, agents on shifts,
    heterogeneous patience; see docs/contact-centre.md)."""
    if mqtt is not None or topic is not None:
        return _emulate_mqtt(days, seed, calls, start, clean, mqtt, topic, as_json)
    if out is None:
        fail("missing option '--out'", "give the file to write, e.g. --out calls.csv")
    if out.suffix.lower() not in (".csv", ".parquet"):
        fail(f"--out: {out} is neither .csv nor .parquet", "e.g. --out calls.csv")
    if not 1 <= days <= 366:
        fail(f"--days must be 1-366, got {days}", "e.g. --days 28")
    if seed < 0:
        fail(f"--seed must be >= 0, got {seed}", "e.g. --seed 1")
    if not (math.isfinite(calls) and 10 <= calls <= 100_000):
        fail(f"--calls must be 10-100000, got {calls:g}", "e.g. --calls 2400")
    try:
        first = date.fromisoformat(start)
    except ValueError:
        fail(f"--start '{start}' is not a date", "write it as YYYY-MM-DD, e.g. --start 2026-01-05")
    result = emulate_contact_centre(days, seed, start=first, calls_per_day=calls, defects=not clean)
    try:
        count = write_interactions(result.rows, out)
    except OSError as exc:
        fail(f"--out: cannot write {out}: {exc.strerror}", "choose a writable file path")
    if as_json:
        _write(
            {
                "out": str(out),
                "records": count,
                "true_records": len(result.truth),
                "days": days,
                "start": first.isoformat(),
                "seed": seed,
                "defects": result.defects,
            }
        )
        return
    stderr.print(
        f"wrote {count} interactions ({days} days from {first}, seed {seed}) to {out}",
        highlight=False,
        markup=False,
    )


def _emulate_mqtt(
    days: int,
    seed: int,
    calls: float,
    start: str,
    clean: bool,
    url: str | None,
    topic: str | None,
    as_json: bool,
) -> None:
    """``emulate contact-centre --mqtt URL --topic T``: publish the records, one per message."""
    from ..connect import MqttError
    from ..contact import publish_interactions

    if url is None or not topic:
        fail("--mqtt and --topic go together", "e.g. --mqtt mqtt://localhost:1883 --topic calls")
    try:
        first = date.fromisoformat(start)
    except ValueError:
        fail(f"--start '{start}' is not a date", "write it as YYYY-MM-DD, e.g. --start 2026-01-05")
    if not 1 <= days <= 366:
        fail(f"--days must be 1-366, got {days}", "e.g. --days 7")
    result = emulate_contact_centre(days, seed, start=first, calls_per_day=calls, defects=not clean)
    try:
        sent = publish_interactions(result.rows, url, topic)
    except MqttError as exc:
        fail(str(exc), exc.hint)
    if as_json:
        _write({"to": url, "topic": topic, "records": len(result.rows), "sent": sent})
        return
    stderr.print(
        f"published {sent} of {len(result.rows)} interactions to {url} '{topic}'",
        highlight=False,
        markup=False,
    )


def contact_ingest(twin: Twin, files: list[Path], db: str | None, as_json: bool) -> None:
    """``twinsight ingest`` on a contact-centre twin: interaction files (CSV, Parquet)."""
    try:
        with _errors(db):
            try:
                reports = ingest_files(twin, files)
            except _EXPECTED as exc:
                _fail_on(exc)
    finally:
        twin.close()
    print_ingest_reports(twin.name, reports, as_json)


def contact_calibrate(twin: Twin, db: str | None, as_json: bool) -> None:
    """``twinsight calibrate`` on a contact-centre twin: fit and save."""
    try:
        with _errors(db):
            try:
                cal = run_calibration(twin)
            except _EXPECTED as exc:
                _fail_on(exc)
            except OSError as exc:
                fail(f"{twin.path}: cannot save the calibration ({exc})", "check the folder")
    finally:
        twin.close()
    if as_json:
        from ..contact._ops import _clean

        _write({"twin": twin.name, **_clean(cal.to_dict())})
        return
    stdout.file.write(cal.report())


def _pct(x: dict[str, Any], scale: float = 100.0, places: int = 1) -> str:
    if x["mean"] is None:
        return "n/a"
    hw = x["half_width"]
    tail = f" ± {scale * hw:.{places}f}" if hw is not None else ""
    return f"{scale * x['mean']:.{places}f}{tail}"


def contact_forecast(
    name: str,
    days: float,
    reps: int,
    seed: int,
    home: Path | None,
    db: str | None,
    as_json: bool,
    where: Where = ("auto", None, None),
) -> None:
    """``twinsight forecast`` on a contact-centre twin: the coming days simulated with the
    Erlang staffing plan; per queue SL, ASA, abandonment, occupancy, satisfaction. The
    replications run on ``where`` (executor, cluster, workers: the same numbers on each)."""
    if not (math.isfinite(days) and 1 <= days <= 14):
        fail(f"--days: {days:g} is outside 1-14", "forecast between 1 and 14 days ahead")
    if reps < 2:
        fail(f"--reps: {reps} is too few", "use at least 2 (e.g. 20)")
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    try:
        with _errors(db):
            try:
                with run_on(*where) as executor:
                    out = run_forecast(twin, days, reps=min(reps, 200), seed=seed,
                                       executor=executor)  # fmt: skip
            except _EXPECTED as exc:
                _fail_on(exc)
            except KeyboardInterrupt:
                fail("interrupted: nothing was stored", code=130)
    finally:
        twin.close()
    if as_json:
        _write({"twin": name, **out})
        return
    table = Table(
        title=f"contact-centre twin '{name}': {days:g} days from {out['start']} staffed by the "
        f"{out['staffed_by']}, {out['reps']} runs (mean ± 95% half-width)",
        title_justify="left",
    )
    for col in (
        "queue",
        "calls",
        "service level %",
        "ASA (s)",
        "abandoned %",
        "occupancy %",
        "satisfaction",
    ):
        table.add_column(col, justify="left" if col == "queue" else "right")
    for q, k in out["queues"].items():
        table.add_row(
            q,
            _pct(k["calls"], 1, 0),
            _pct(k["service_level"]),
            _pct(k["asa_seconds"], 1),
            _pct(k["abandon"]),
            _pct(k["occupancy"]),
            _pct(k["satisfaction"], 1, 2),
        )
    stdout.print(table)
    if out.get("run_id"):
        run_id = out["run_id"]
        stdout.print(f"run {run_id} (twinsight rerun {run_id})", style="dim", highlight=False)


def contact_compare(
    args: list[str],
    days: float,
    reps: int,
    seed: int,
    targets: list[PairedTarget],
    max_reps: int,
    home: Path | None,
    db: str | None,
    quiet: bool,
    where: Where = ("auto", None, None),
) -> tuple[Comparison, str | None, str]:
    """``twinsight compare NAME SCENARIO...`` on a contact-centre twin: scenario files (with
    the contact keys handle_time, callback, agents) against the staffed week; each batch of
    replications on ``where`` (executor, cluster, workers: the same numbers on each)."""
    name = args[0]
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    try:
        with _errors(db):
            try:
                roster = contact_settings(twin).roster
                with run_on(*where) as executor:
                    comp, run_id = run_compare(
                        twin,
                        args[1:],
                        days=days,
                        reps=reps,
                        seed=seed,
                        targets=targets,
                        max_reps=max_reps,
                        executor=executor,
                        workers=where[2],
                    )
            except _EXPECTED as exc:
                _fail_on(exc)
            except KeyboardInterrupt:
                fail("interrupted: nothing was stored", code=130)
    finally:
        twin.close()
    staffed = "its roster" if roster else "the Erlang staffing plan"
    title = (
        f"contact-centre twin '{name}': baseline ({staffed}) against "
        f"{len(args) - 1} scenario(s) over {days:g} days, {comp.reps} replications each, "
        f"seed {seed}, common random numbers"
    )
    return comp, run_id, title


@contextmanager
def _bar(show: bool) -> Iterator[Callable[[int, int], None] | None]:
    if not show:
        yield None
        return
    cols = (TextColumn("intervals staffed"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*cols, console=stderr, transient=True) as bar:
        task = bar.add_task("staffing", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield progress


@app.command("staffing")
def staffing_command(
    name: NameArg,
    day: Annotated[
        list[str] | None,
        typer.Option(
            "--day", help="Weekday(s) to staff (mon..sun); default all.", show_default=False
        ),
    ] = None,
    at: Annotated[
        list[str] | None,
        typer.Option(
            "--at", help="Only the interval(s) starting at HH:MM; default all.", show_default=False
        ),
    ] = None,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="auto, erlang (C/A), simulation, or joint (agent groups staffed jointly by "
            "simulation; auto's choice when the twin has agent groups).",
        ),
    ] = "auto",
    seed: Annotated[int, typer.Option("--seed", "-s", help="Random seed (simulation).")] = 1,
    reps: Annotated[int, typer.Option("--reps", help="Replications per candidate.")] = 10,
    roster_out: Annotated[
        Path | None,
        typer.Option(
            "--roster-out",
            help="Also write the plan as a roster CSV (contact.roster).",
            show_default=False,
        ),
    ] = None,
    spec_out: Annotated[
        Path | None,
        typer.Option(
            "--spec-out",
            help="Also write the staffed week as a flow spec (YAML) for "
            "simulate, compare --spec and optimise.",
            show_default=False,
        ),
    ] = None,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Per-interval staffing of a contact-centre twin: the fewest agents meeting the service
    level (twin.yaml contact.service_level, 80/20 by default) and the abandonment cap, by
    Erlang C / Erlang A where they apply and by simulation where they do not."""
    days = [d.strip().lower()[:3] for d in (day or [])]
    bad = [d for d in (day or []) if d.strip().lower()[:3] not in WEEKDAYS or len(d.strip()) < 3]
    if bad:
        fail(f"--day: '{bad[0]}' is not a weekday", "use mon, tue, wed, thu, fri, sat or sun")
    starts = [a.strip().zfill(5) for a in (at or [])]
    for a in starts:
        hh, _, mm = a.partition(":")
        if not (hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
            fail(f"--at: '{a}' is not a time of day", "write HH:MM, e.g. --at 10:00")
    if method not in METHODS:
        fail(f"--method: '{method}' is not one of {', '.join(METHODS)}", "e.g. --method erlang")
    if reps < 2:
        fail(f"--reps: {reps} is too few", "use at least 2 (default 10)")
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    if twin.template != TEMPLATE:
        twin.close()
        fail(f"twin '{name}' is a {twin.template} twin", "staffing needs --template contact-centre")
    try:
        with _errors(db):
            try:
                with _bar(stderr.is_terminal) as progress:
                    plan = run_staffing(twin, days or None, method=method, seed=seed, reps=reps,
                                        starts=starts or None, progress=progress)  # fmt: skip
                if roster_out is not None:
                    from ..contact._roster import write_roster

                    write_roster(plan, roster_out)
                if spec_out is not None:
                    from ..contact import contact_model

                    model = contact_model(twin)
                    spec = model.week_spec(plan.agents, 7.0)
                    data = spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
                    spec_out.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
            except _EXPECTED as exc:
                _fail_on(exc)
            except OSError as exc:
                fail(f"cannot write {exc.filename} ({exc.strerror})", "choose a writable path")
    finally:
        twin.close()
    if as_json:
        _write({"twin": name, "method": method, **plan.to_json()})
        return
    methods = ", ".join(sorted(set(plan.table["method"]))) if len(plan.table) else method
    table = Table(
        title=f"staffing of '{name}' by {methods}: agt = agents after shrinkage, rost = rostered; "
        "AHT in minutes, ASA in seconds",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        collapse_padding=True,
        pad_edge=False,
    )
    cols = ("queue", "day", "start", "calls", "AHT", "agt", "rost", "SL%", "ASA", "ab%",
            "occ%", "CSAT")  # fmt: skip
    for col in cols:
        table.add_column(col, justify="left" if col in ("queue", "day") else "right")

    def cell(x: float, fmt: str, scale: float = 1.0) -> str:
        return "" if math.isnan(x) else format(scale * x, fmt)  # a group's row has no queue KPIs

    for r in plan.table.to_dict(orient="records"):
        table.add_row(
            r["queue"],
            r["weekday"],
            r["start"],
            cell(r["calls"], ".0f"),
            cell(r["aht_minutes"], ".1f"),
            str(r["agents"]),
            str(r["rostered"]),
            cell(r["service_level"], ".0f", 100),
            cell(r["asa_seconds"], ".0f"),
            cell(r["abandon"], ".1f", 100),
            cell(r["occupancy"], ".0f", 100),
            cell(r["satisfaction"], ".2f"),
        )
    stdout.print(table)
