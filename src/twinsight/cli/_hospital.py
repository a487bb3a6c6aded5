"""``twinsight forecast``, ``backtest`` and ``drift``: the hospital twin looks ahead and checks
itself. The work is in ``twinsight.hospital``; these commands parse, call and print."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..calibrate import CalibrationError
from ..hospital import drift, run_backtest, run_forecast
from ..twin import open_twin
from ._app import ClusterOpt, ExecutorName, ExecutorOpt, WorkersOpt, app
from ._outbreak import DeterministicOpt
from ._output import fail, parse_instant, stdout
from ._twin import DbOpt, HomeOpt, NameArg, _errors, _open

__all__ = ["backtest", "drift_command", "forecast"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
SeedOpt = Annotated[int, typer.Option("--seed", "-s", help="Random seed.")]


def _fmt(value: float, share: bool) -> str:
    return f"{100 * value:.1f}%" if share else f"{value:.1f}"


def _band(lo: float, hi: float) -> str:
    return f"{lo:.0f}-{hi:.0f}"


@app.command()
def forecast(
    name: NameArg,
    days: Annotated[
        float | None,
        typer.Option(
            "--days",
            "-d",
            help="Days ahead: 1 to 14 [7]; outbreak and social-services twins 1 to 180 "
            "[outbreak 28, social services 7].",
            show_default=False,
        ),
    ] = None,
    reps: Annotated[int, typer.Option("--reps", help="Replications.")] = 1000,
    seed: SeedOpt = 1,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="Forecast from this instant (default: the latest event).",
            show_default=False,
        ),
    ] = None,
    executor: ExecutorOpt = ExecutorName.default,
    cluster: ClusterOpt = None,
    workers: WorkersOpt = None,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
    deterministic: DeterministicOpt = False,
) -> None:
    """Occupancy per unit (and the ED) for the coming days from the present: median, 50% and
    90% bands, and the chance of being over the 85% line; saved for drift checks. A hospital
    twin's replications run on --executor/--cluster (the same numbers on each)."""
    from ._casework import casework_forecast, is_casework  # social services: up to 180 days
    from ._outbreak import is_outbreak, outbreak_forecast  # an outbreak twin: up to 180 days
    from ._where import in_process_only, run_on  # hospital twins: any executor (docs/scale.md)

    if is_outbreak(name, home):  # its own default horizon (cli/_outbreak.py)
        instant = parse_instant(at, "--at") if at is not None else None
        return outbreak_forecast(name, days, reps, seed, instant, home, db, as_json, deterministic,
                                 (executor.value, cluster, workers))  # fmt: skip
    if deterministic:
        fail("--deterministic: only an outbreak twin has a deterministic mode", "leave it out")
    days = 7 if days is None else days
    if is_casework(name, home):
        instant = parse_instant(at, "--at") if at is not None else None
        where_to = (executor.value, cluster, workers)
        return casework_forecast(name, days, reps, seed, instant, home, db, as_json, where_to)
    from ._contact import contact_forecast, is_contact  # a contact-centre twin: cli/_contact.py

    if is_contact(name, home):
        where_to = (executor.value, cluster, workers)
        return contact_forecast(name, days, reps, seed, home, db, as_json, where_to)
    if not 1 <= days <= 14:
        fail(f"--days: {days:g} is outside 1-14", "forecast between 1 and 14 days ahead")
    if reps < 10:
        fail(f"--reps: {reps} is too few for 90% bands", "use at least 10 (default 1000)")
    instant = parse_instant(at, "--at") if at is not None else None
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    if twin.template == "patient":  # cli/_patient.py
        in_process_only("a patient forecast", executor.value, cluster)
        from ._patient import patient_forecast

        patient_forecast(twin, days, seed, db, as_json)
        return
    try:
        with _errors(db):
            try:
                if not as_json:
                    stdout.print("simulating (the first run in a process compiles the engine, "
                                 "~1 min)...", style="dim")  # fmt: skip
                with run_on(executor.value, cluster, workers) as where:
                    run = run_forecast(twin, days, reps=reps, seed=seed, at=instant,
                                       executor=where)  # fmt: skip
            except (CalibrationError, ValueError) as exc:
                fail(str(exc))
            except KeyboardInterrupt:
                fail("interrupted: nothing was stored", code=130)
    finally:
        twin.close()
    out = run.to_json()
    if as_json:
        stdout.file.write(json.dumps({"twin": name, **out}, allow_nan=False) + "\n")
        return
    stdout.print(
        f"twin '{escape(name)}' from {run.state.at:%Y-%m-%d %H:%M} UTC, {reps} replications: "
        "median [50% band] [90% band] of patients present at this time on each day",
        highlight=False,
    )
    for unit, entry in out["units"].items():
        table = Table(title=f"{unit}: {entry['now']} now"
                      + (f", {entry['beds']} beds" if entry["beds"] else ""),
                      title_justify="left")  # fmt: skip
        table.add_column("day")
        table.add_column("median", justify="right")
        table.add_column("50%", justify="right")
        table.add_column("90%", justify="right")
        if entry["beds"]:
            table.add_column("P(>85%)", justify="right")
        for k, d in enumerate(entry["days"], start=1):
            cells = [f"+{k} {d['time'][5:16].replace('T', ' ')}", f"{d['p50']:.0f}",
                     _band(d["p25"], d["p75"]), _band(d["p5"], d["p95"])]  # fmt: skip
            if entry["beds"]:
                cells.append(f"{100 * d['p_over_85']:.0f}%")
            table.add_row(*cells)
        stdout.print(table)
    ind = Table(title=f"over the {days:g} days: mean [90% band]", title_justify="left")
    for col in ("indicator", "mean", "90%"):
        ind.add_column(col, justify="left" if col == "indicator" else "right")
    for row in out["indicators"]:
        share = row["unit"] == "share"
        label = row["indicator"] if share else f"{row['indicator']} ({row['unit']})"
        ind.add_row(label, _fmt(row["mean"], share), f"{_fmt(row['p5'], share)}-"
                    f"{_fmt(row['p95'], share)}")  # fmt: skip
    stdout.print(ind)


def _summary_json(summary: dict[str, Any]) -> dict[str, Any]:
    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        return v

    return {str(k): clean(v) for k, v in summary.items()}


@app.command()
def backtest(
    name: NameArg,
    days: Annotated[
        float | None, typer.Option("--days", "-d", help="Days ahead scored [7; casework 28].")
    ] = None,
    origins: Annotated[int, typer.Option("--origins", help="Forecast origins.")] = 8,
    step_days: Annotated[
        float | None, typer.Option("--step-days", help="Days between origins [7; casework 28].")
    ] = None,
    window_days: Annotated[
        float | None,
        typer.Option(
            "--window-days",
            help="Calibration window before each origin [56; casework: the twin's].",
            show_default=False,
        ),
    ] = None,
    reps: Annotated[int, typer.Option("--reps", help="Replications per forecast.")] = 200,
    seed: SeedOpt = 1,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rolling-origin backtest over the history: the twin's MAE and 90%-band coverage against
    the last-value and same-hour-last-week baselines."""
    from ._casework import casework_backtest, is_casework  # social services: cli/_casework.py

    if is_casework(name, home):
        return casework_backtest(name, days, origins, step_days, window_days, reps, seed, home,
                                 db, as_json)  # fmt: skip
    days, step_days = days or 7.0, step_days or 7.0
    window_days = window_days or 56.0
    if days <= 0 or origins < 1 or step_days <= 0 or window_days <= 0 or reps < 10:
        fail("--days, --step-days, --window-days must be positive, --origins >= 1, --reps >= 10")
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    try:
        with _errors(db):
            try:
                result = run_backtest(twin, days=days, origins=origins, step_days=step_days,
                                      window_days=window_days, reps=reps, seed=seed)  # fmt: skip
            except (CalibrationError, ValueError) as exc:
                fail(str(exc))
    finally:
        twin.close()
    s = _summary_json(result.summary())
    if as_json:
        stdout.file.write(json.dumps({"twin": name, **s}, allow_nan=False) + "\n")
        return
    table = Table(title=f"backtest of '{name}': {s['origins']} origins x {days:g} days, "
                  f"hourly bins, {reps} replications", title_justify="left")  # fmt: skip
    for col in ("", "MAE (patients)", "90% coverage", "50% coverage"):
        table.add_column(col, justify="right" if col else "left")
    table.add_row("twin", f"{s['mae']:.2f}", f"{100 * s['coverage_90']:.1f}%",
                  f"{100 * s['coverage_50']:.1f}%")  # fmt: skip
    for base, label in (
        ("last_value", "last value"),
        ("same_hour_last_week", "same hour last week"),
    ):
        table.add_row(label, f"{s['baselines'][base]['mae']:.2f}", "", "")
    stdout.print(table)
    verdict = "beats both baselines" if s["beats_baselines"] else "does NOT beat both baselines"
    stdout.print(f"the twin {verdict} on MAE; its 90% bands held {100 * s['coverage_90']:.1f}% "
                 "of outcomes (aim: 85-95%)", highlight=False)  # fmt: skip


@app.command("drift")
def drift_command(
    name: NameArg,
    recent_days: Annotated[
        float, typer.Option("--recent-days", help="Days of recent stays to test.")
    ] = 28,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the twin against reality: census outside the last forecast's bands, stays or
    arrivals that no longer fit the calibration. Alarms are printed and recorded."""
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    try:
        with _errors(db):
            try:
                alarms = drift(twin, recent_days=recent_days)
            except (CalibrationError, ValueError) as exc:
                fail(str(exc))
    finally:
        twin.close()
    if as_json:
        out = {"twin": name, "alarms": [a.to_dict() for a in alarms]}
        stdout.file.write(json.dumps(out) + "\n")
        return
    if not alarms:
        stdout.print("[green]no drift[/]: the twin still fits what happens", highlight=False)
        return
    for a in alarms:
        stdout.print(f"[red]ALARM[/] {escape(a.message)}", highlight=False)
