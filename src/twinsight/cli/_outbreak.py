"""The outbreak twin on the command line: ``ingest``, ``calibrate`` and ``forecast`` dispatch
here for a twin made with ``--template outbreak``; ``twinsight chime NAME`` runs the CHIME mode.
The work is in ``twinsight.outbreak``; these functions parse, call and print."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from ..decide import Comparison
from ..govern import audit
from ..outbreak import (
    OutbreakCalibrationError,
    OutbreakConfigError,
    OutbreakIngestError,
    OutbreakScenarioError,
    run_calibration,
    run_chime,
    run_compare,
    run_forecast,
    save_outbreak_calibration,
)
from ..outbreak import ingest as ingest_counts
from ..outbreak._scenarios import Mode
from ..twin import Twin, open_twin, twin_template
from ._app import app
from ._output import fail, print_ingest_reports, stdout
from ._twin import DbOpt, HomeOpt, NameArg, _errors, _open
from ._where import run_on

__all__ = [
    "DEFAULT_DAYS",
    "DeterministicOpt",
    "chime_command",
    "is_outbreak",
    "outbreak_calibrate",
    "outbreak_compare",
    "outbreak_forecast",
    "outbreak_ingest",
]

#: The longest outbreak forecast, days.
MAX_DAYS = 180
#: Days ahead when ``--days`` is not given (forecast and compare).
DEFAULT_DAYS = 28.0
#: ``twinsight compare --deterministic`` and ``forecast --deterministic`` (declared in
#: cli/_compare.py and cli/_hospital.py, read here).
DeterministicOpt = Annotated[
    bool,
    typer.Option(
        "--deterministic",
        help="Outbreak twins: solve the model's equations for each parameter draw (no chance "
        "in who is infected or admitted).",
    ),
]


def is_outbreak(name: str, home: Path | None) -> bool:
    """Whether twin ``name`` was made from this template (its twin.yaml alone; any problem reads
    as no, and the usual command reports it)."""
    return twin_template(name, home) == "outbreak"


def _fail_on(exc: Exception) -> NoReturn:
    if isinstance(exc, OutbreakConfigError):
        fail(str(exc), exc.hint)
    if isinstance(exc, OutbreakIngestError):
        fail(str(exc), "see examples/outbreak/admissions.csv for the layout")
    fail(str(exc))


_EXPECTED = (
    OutbreakConfigError,
    OutbreakIngestError,
    OutbreakCalibrationError,
    OutbreakScenarioError,
    ValueError,
)


def outbreak_ingest(twin: Twin, files: list[Path], db: str | None, as_json: bool) -> None:
    """``twinsight ingest`` on an outbreak twin: CSV files of daily counts."""
    try:
        with _errors(db):
            try:
                reports = [audit.ingested(twin.engine, r) for r in ingest_counts(twin, files)]
            except _EXPECTED as exc:
                _fail_on(exc)
    finally:
        twin.close()
    print_ingest_reports(twin.name, reports, as_json)
    if as_json:
        return
    for r in reports:
        for metric, days in r.gaps.items():
            shown = ", ".join(days[:5]) + (" ..." if len(days) > 5 else "")
            stdout.print(f"  gap: no {metric} on {len(days)} day(s): {shown}", highlight=False)


def outbreak_calibrate(twin: Twin, until: datetime | None, db: str | None, as_json: bool) -> None:
    """``twinsight calibrate`` on an outbreak twin: fit to the stored counts and save."""
    try:
        with _errors(db):
            try:
                cal = run_calibration(twin, until=until.date() if until else None, save=False)
                path = save_outbreak_calibration(twin.path, cal)
            except _EXPECTED as exc:
                _fail_on(exc)
            except OSError as exc:
                fail(f"{twin.path}: cannot save the calibration ({exc})", "check the folder")
    finally:
        twin.close()
    if as_json:
        stdout.file.write(json.dumps({"twin": twin.name, **cal.to_dict()}, allow_nan=False) + "\n")
        return
    stdout.file.write(cal.report())
    stdout.print(f"saved {escape(str(path))}", highlight=False)


def _band(row: Any) -> str:
    text = f"{row['p50']:.0f} [{row['p5']:.0f}-{row['p95']:.0f}]"
    if not math.isnan(row["p_over"]):  # a capacity is configured: the chance of exceeding it
        text += f" {100 * row['p_over']:.0f}%"
    return text


def outbreak_forecast(
    name: str,
    days: float | None,
    reps: int,
    seed: int,
    at: datetime | None,
    home: Path | None,
    db: str | None,
    as_json: bool,
    deterministic: bool = False,
    where: tuple[str, str | None, int | None] = ("auto", None, None),
) -> None:
    """``twinsight forecast`` on an outbreak twin: admissions, beds, ICU beds and ventilators
    for the coming days (1 to 180; 28 when ``--days`` is not given), median and 90% band;
    stored as a run. ``deterministic``: the model's equations for each parameter draw (the
    band is the calibration's uncertainty alone)."""
    days = DEFAULT_DAYS if days is None else days
    if not (math.isfinite(days) and 1 <= days <= MAX_DAYS):
        fail(f"--days: {days:g} is outside 1-{MAX_DAYS}", "an outbreak forecast runs 1-180 days")
    if reps < 10:
        fail(f"--reps: {reps} is too few for 90% bands", "use at least 10 (default 1000)")
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    try:
        with _errors(db):
            try:
                with run_on(*where) as executor:  # --executor/--cluster/--workers
                    fc = run_forecast(
                        twin, round(days), runs=reps, seed=seed, at=at.date() if at else None,
                        mode="deterministic" if deterministic else "stochastic",
                        executor=executor,
                    )  # fmt: skip
            except _EXPECTED as exc:
                _fail_on(exc)
            except KeyboardInterrupt:
                fail("interrupted: nothing was stored", code=130)
    finally:
        twin.close()
    if as_json:
        out = {"twin": name, "run_id": fc.run_id, **fc.to_json()}
        stdout.file.write(json.dumps(out, allow_nan=False) + "\n")
        return
    runs = (
        f"{fc.runs} parameter draws, the model's equations (deterministic)"
        if deterministic
        else f"{fc.runs} runs"
    )
    table = Table(
        title=f"outbreak twin '{name}': {runs} from {fc.first_day}, median [90% band]"
        + (", chance over capacity" if fc.frame["p_over"].notna().any() else ""),
        title_justify="left",
    )
    for col in ("day", "admissions", "beds in use", "ICU beds", "ventilators"):
        table.add_column(col, justify="left" if col == "day" else "right")
    metrics = [fc.metric(m) for m in ("admissions", "census", "icu", "ventilated")]
    for day in metrics[0].index:
        table.add_row(str(day), *(_band(m.loc[day]) for m in metrics))
    stdout.print(table)
    if fc.run_id:
        stdout.print(f"run {fc.run_id} (twinsight rerun {fc.run_id})", style="dim", highlight=False)


def outbreak_compare(
    args: list[str],
    days: float | None,
    reps: int,
    seed: int,
    at: datetime | None,
    home: Path | None,
    db: str | None,
    deterministic: bool = False,
    where: tuple[str, str | None, int | None] = ("auto", None, None),
) -> tuple[Comparison, str | None, str]:
    """``twinsight compare NAME SCENARIO...`` on an outbreak twin: scenarios (stored names,
    YAML files or ``NAME=30%@10``) against the baseline over ``days`` days (1-180; 28 when
    ``--days`` is not given), paired runs of the binomial chain with common random numbers
    (``deterministic``: the model's equations for each parameter draw). Stored as a run: its
    id is returned."""
    days = DEFAULT_DAYS if days is None else days
    mode: Mode = "deterministic" if deterministic else "stochastic"
    if not (math.isfinite(days) and 1 <= days <= MAX_DAYS):
        fail(f"--days: {days:g} is outside 1-{MAX_DAYS}", "compare an outbreak 1-180 days ahead")
    name = args[0]
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    try:
        with _errors(db):
            try:
                with run_on(*where) as executor:  # --executor/--cluster/--workers
                    comp = run_compare(
                        twin, args[1:], round(days), reps=reps, seed=seed, mode=mode,
                        at=at.date() if at else None, executor=executor,
                    )  # fmt: skip
            except _EXPECTED as exc:
                _fail_on(exc)
            except KeyboardInterrupt:
                fail("interrupted: nothing was stored", code=130)
    finally:
        twin.close()
    title = (
        f"outbreak twin '{name}': baseline against {len(args) - 1} scenario(s) over "
        f"{round(days)} days, {comp.reps} paired runs each, seed {seed}, "
        + ("the model's equations (deterministic)" if deterministic else "common random numbers")
    )
    return comp, comp.run_id, title


@app.command("chime")
def chime_command(
    name: NameArg,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """CHIME mode of an outbreak twin: Penn Medicine's CHIME projection (admissions and census
    for hospital, ICU and ventilators) from the 'chime:' inputs in its twin.yaml."""
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    try:
        result = run_chime(twin)
    except OutbreakConfigError as exc:
        fail(str(exc), exc.hint)
    finally:
        twin.close()
    out = result.to_dict()
    if as_json:
        stdout.file.write(json.dumps({"twin": name, **out}, allow_nan=False) + "\n")
        return
    stdout.print(
        f"CHIME: i_day {out['i_day']}, doubling time {out['doubling_time']:.2f} days, "
        f"R0 {out['r_naught']:.2f}, Rt {out['r_t']:.2f}, doubling time after "
        f"distancing {out['doubling_time_t']:.2f} days",
        highlight=False,
    )
    table = Table(title="admissions / census per day", title_justify="left")
    for col in ("day", "hospitalized", "icu", "ventilated"):
        table.add_column(col, justify="right")
    for i, day in enumerate(out["days"]):
        cells = [
            f"{out['admits'][k][i] or 0:.0f} / {out['census'][k][i] or 0:.0f}"
            for k in ("hospitalized", "icu", "ventilated")
        ]
        table.add_row(str(day), *cells)
    stdout.print(table)
