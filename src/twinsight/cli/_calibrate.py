"""``twinsight calibrate NAME``: learn the hospital model from the stored events and save it."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape

from ..calibrate import CalibrationError, HospitalCalibration, calibrate_hospital, save_calibration
from ..govern import audit
from ..twin import open_twin
from ._app import app
from ._output import fail, parse_instant, stdout
from ._twin import DbOpt, HomeOpt, NameArg, _errors, _open

__all__ = ["calibrate"]


@app.command()
def calibrate(
    name: NameArg,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="End of the window, ISO 8601 with an offset (default: the latest event).",
            show_default=False,
        ),
    ] = None,
    window_days: Annotated[
        float, typer.Option("--window-days", help="Length of the window, days.")
    ] = 56,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (the calibration).")
    ] = False,
) -> None:
    """Learn arrivals, lengths of stay, routing and discharges from the events; save them in
    the twin's calibration.json (and a dated copy in calibrations/)."""
    instant = parse_instant(until, "--until") if until is not None else None
    if not window_days > 0:
        fail(f"--window-days: {window_days:g} is not a positive number of days", "e.g. 56")
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    if twin.template == "patient":  # cli/_patient.py
        from ._patient import patient_calibrate

        patient_calibrate(twin, db, as_json)
        return
    if twin.template == "outbreak":  # cli/_outbreak.py
        from ._outbreak import outbreak_calibrate

        outbreak_calibrate(twin, instant, db, as_json)
        return
    if twin.template == "social-services":  # cli/_casework.py (window: twin.yaml casework:)
        from ._casework import casework_calibrate

        casework_calibrate(twin, instant, None, db, as_json)
        return
    if twin.template == "contact-centre":  # cli/_contact.py
        from ._contact import contact_calibrate

        contact_calibrate(twin, db, as_json)
        return
    result: HospitalCalibration | None = None
    try:
        with _errors(db):
            try:
                result = calibrate_hospital(twin.engine, until=instant, window_days=window_days)
                path = save_calibration(twin.path, result)
                audit.calibrated(twin.engine, result, path.name)
            except CalibrationError as exc:
                fail(str(exc))
            except OSError as exc:
                fail(f"{twin.path}: cannot save the calibration ({exc})", "check the folder")
    finally:
        twin.close()
    assert result is not None
    if as_json:
        stdout.file.write(json.dumps(result.to_dict(), allow_nan=False) + "\n")
        return
    stdout.file.write(result.report())
    stdout.print(f"saved {escape(str(path))}", highlight=False)
