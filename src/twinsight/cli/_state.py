"""``twinsight state NAME``: the hospital at an instant (census per unit) from the stored events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ..assimilate import ED, HospitalState, StateError, current_state
from ..twin import open_twin
from ._app import app
from ._output import fail, parse_instant, stdout
from ._twin import DbOpt, HomeOpt, NameArg, _errors, _open

__all__ = ["state"]


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _print(name: str, state: HospitalState) -> None:
    stdout.print(f"twin '{escape(name)}' at {_iso(state.at)}", highlight=False)
    table = Table(show_edge=False, box=None, pad_edge=False)
    table.add_column("unit")
    table.add_column("census", justify="right")
    table.add_column("median hours in unit", justify="right")
    for unit, count in state.census.items():
        hours = sorted(p.in_unit_hours for p in state.patients if p.unit == unit)
        table.add_row(escape(unit), str(count), f"{hours[len(hours) // 2]:.1f}")
    stdout.print(table)
    stdout.print(
        f"{len(state.patients)} patients in hospital, {state.in_ed} in the ED "
        f"(boarders included); {state.dropped_stale} stale dropped "
        f"(inpatients: no event for {state.stale_after_hours / 24:g} days; "
        f"{ED}: more than {state.ed_stale_after_hours:.0f} hours in it)",
        highlight=False,
    )


@app.command()
def state(
    name: NameArg,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="The instant, ISO 8601 with an offset (default: the latest event in the store).",
            show_default=False,
        ),
    ] = None,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The hospital at an instant: census per unit, patients in the ED, stale patients dropped."""
    instant = parse_instant(at, "--at") if at is not None else None
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    if twin.template == "social-services":  # open cases by team: cli/_casework.py
        from ._casework import casework_state

        return casework_state(twin, instant, db, as_json)
    result: HospitalState | None = None
    try:
        with _errors(db):
            try:
                result = current_state(twin.engine, instant)
            except StateError as exc:
                fail(str(exc))
    finally:
        twin.close()
    assert result is not None
    if as_json:
        out = {
            "at": _iso(result.at),
            "census": result.census,
            "patients": len(result.patients),
            "in_ed": result.in_ed,
            "dropped_stale": result.dropped_stale,
        }
        stdout.file.write(json.dumps(out) + "\n")
        return
    _print(name, result)
