"""``twinsight scenario NAME add FILE`` and ``twinsight scenario NAME list``: the scenarios kept
with a twin (``<twin>/scenarios/<name>.yaml``). The work is in ``twinsight.decide``."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..calibrate import CalibrationError, load_calibration
from ..decide import Scenario, ScenarioError, apply_to_model, apply_to_spec, list_scenarios
from ..decide import save_scenario as _save
from ..forecast._build import model_from_calibration
from ..spec import SpecError
from ..twin import Twin, open_twin
from ._app import app
from ._output import EXIT_BAD_INPUT, fail, stderr, stdout
from ._twin import DbOpt, HomeOpt, NameArg, _errors, _open

__all__ = ["check_against_twin", "report_scenario_error", "scenario"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def report_scenario_error(exc: SpecError) -> NoReturn:
    """Every problem of a scenario file as ``file:line:col: path: message``; exit 2."""
    count = len(exc.problems)
    stderr.print(
        Text("error: ", style="bold red").append(
            f"{exc.source}: {count} problem{'s' if count != 1 else ''} in the scenario"
        )
    )
    for p in exc.problems:
        line = Text("  ")
        line.append(p.render(exc.source).split(": ", 1)[0], style="bold")
        line.append(": ")
        line.append(p.path or "<top>", style="cyan")
        line.append(f": {p.message}")
        stderr.print(line)
    raise typer.Exit(EXIT_BAD_INPUT)


def check_against_twin(twin: Twin, scenario: Scenario) -> bool:
    """Apply ``scenario`` to the twin's saved calibration (an empty hospital, 7 days): unit,
    resource and field names must exist. False when there is no calibration to check against;
    raises ``ScenarioError`` naming a change that does not fit."""
    from ..hospital._ops import configured_beds

    try:
        cal = load_calibration(twin.path)
    except CalibrationError:
        return False
    model = model_from_calibration(cal, configured_beds(twin))
    changed = apply_to_model(model, scenario)
    apply_to_spec(changed.spec(None, 7.0), scenario, hospital=True)
    return True


def _row(sc: Scenario) -> dict[str, Any]:
    return {
        "name": sc.name,
        "description": sc.description,
        "interventions": [iv.describe() for iv in sc.interventions],
    }


@app.command()
def scenario(
    name: NameArg,
    action: Annotated[str, typer.Argument(help="add or list.", show_default=False)],
    file: Annotated[
        Path | None, typer.Argument(help="The scenario file (for add).", show_default=False)
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite a scenario of the same name.")
    ] = False,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Keep scenarios with a twin: 'add FILE' validates a scenario file and stores it (checked
    against the twin's calibration when there is one); 'list' shows them."""
    if action not in ("add", "list"):
        fail(f"unknown action '{action}'", "use 'twinsight scenario NAME add FILE' or '... list'")
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    try:
        if twin.template != "hospital":
            fail(
                f"twin '{name}' is a {twin.template} twin; scenarios are kept with hospital twins",
                "for a flow spec, pass scenario files to 'twinsight compare --spec'",
            )
        with _errors(db):
            if action == "list":
                try:
                    rows = [_row(sc) for sc in list_scenarios(twin.path)]
                except SpecError as exc:
                    report_scenario_error(exc)
                _print_list(name, rows, as_json)
                return
            if file is None:
                fail("add needs a scenario FILE", "twinsight scenario NAME add FILE")
            try:
                sc = _load_checked(twin, file)
                _save(twin.path, file, replace=replace)
            except SpecError as exc:
                report_scenario_error(exc)
            except FileExistsError as exc:
                fail(str(exc))
    finally:
        twin.close()
    if as_json:
        stdout.file.write(json.dumps({"twin": name, "added": _row(sc)}) + "\n")
    else:
        stdout.print(
            f"added scenario '{escape(sc.name)}' to twin '{escape(name)}': "
            f"{len(sc.interventions)} intervention(s)",
            highlight=False,
        )


def _load_checked(twin: Twin, file: Path) -> Scenario:
    from ..decide import load_scenario

    sc = load_scenario(file)
    with contextlib.suppress(ValueError):  # a calibration the model cannot use: check later
        try:
            check_against_twin(twin, sc)
        except ScenarioError as exc:
            fail(f"{file}: {exc}")
    return sc


def _print_list(name: str, rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        stdout.file.write(json.dumps({"twin": name, "scenarios": rows}) + "\n")
        return
    if not rows:
        stdout.print(
            f"twin '{escape(name)}' has no scenarios: add one with "
            f"'twinsight scenario {escape(name)} add FILE'",
            highlight=False,
        )
        return
    table = Table(title=f"scenarios of twin '{name}'", title_justify="left")
    for col in ("name", "description", "interventions"):
        table.add_column(col)
    for row in rows:
        table.add_row(row["name"], row["description"], "\n".join(row["interventions"]))
    stdout.print(table)
