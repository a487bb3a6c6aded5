"""``twinsight state NAME``: the hospital at an instant (census per unit) from the stored events.

Person counts are shown as they leave the service (``govern.protect_census``: below k as
``"<k"``, and what a total would give away as ``"[c]"``); ``--exact`` shows them exactly and
records that in the twin's audit log (``exact-counts``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..assimilate import ED, HospitalState, StateError, current_state
from ..govern import DEFAULT_K, audit, protect_census
from ..twin import open_twin
from ._app import app
from ._output import fail, parse_instant, stdout
from ._twin import DbOpt, HomeOpt, NameArg, _errors, _open

__all__ = ["state"]

_JSON_KEYS = ("census", "patients", "in_ed", "dropped_stale")


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


#: Option for exact person counts (audited).
ExactOpt = Annotated[
    bool,
    typer.Option(
        "--exact",
        help="Exact person counts, not suppressed below k (for the twin's operators; the "
        "request is written to the twin's audit log).",
    ),
]


def _counts(state: HospitalState, exact: bool, k: int = DEFAULT_K) -> dict[str, Any]:
    """The person counts as shown: exact, or through ``protect_census``."""
    if exact:
        return {
            "census": dict(state.census),
            "patients": len(state.patients),
            "in_ed": state.in_ed,
            "dropped_stale": state.dropped_stale,
            "dropped_by_unit": dict(state.dropped_by_unit),
        }
    return protect_census(
        state.census, len(state.patients), state.dropped_by_unit, state.dropped_stale, ED, k
    )


def _print(name: str, state: HospitalState, shown: dict[str, Any]) -> None:
    stdout.print(f"twin '{escape(name)}' at {_iso(state.at)}", highlight=False)
    table = Table(show_edge=False, box=None, pad_edge=False)
    table.add_column("unit")
    table.add_column("census", justify="right")
    table.add_column("median hours in unit", justify="right")
    for unit, count in shown["census"].items():
        hours = sorted(p.in_unit_hours for p in state.patients if p.unit == unit)
        median = f"{hours[len(hours) // 2]:.1f}" if isinstance(count, int) and hours else ""
        table.add_row(escape(unit), escape(str(count)), median)  # no median of a hidden count
    stdout.print(table)
    stdout.print(
        f"{escape(str(shown['patients']))} patients in hospital, {escape(str(shown['in_ed']))} "
        f"in the ED (boarders included); {escape(str(shown['dropped_stale']))} stale dropped "
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
    exact: ExactOpt = False,
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
            if exact:  # who saw exact counts of people, and of when
                audit.append(twin.engine, actor=audit.cli_actor(), action="exact-counts",
                             target="state", detail={"at": _iso(result.at)})  # fmt: skip
    finally:
        twin.close()
    assert result is not None
    shown = _counts(result, exact)
    if as_json:
        out = {"at": _iso(result.at), **{key: shown[key] for key in _JSON_KEYS}, "exact": exact}
        stdout.file.write(json.dumps(out) + "\n")
        return
    _print(name, result, shown)
