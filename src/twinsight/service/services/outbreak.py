"""The outbreak twin over HTTP: forecast bands with the observed counts, calibration, CHIME and
JSON daily counts (quarantined like a CSV file's). Blocking: run in a worker thread.

Observed counts leave through ``govern.suppress`` (1 to k - 1 people answered as ``"<k"``), as
the hospital twin's census does; forecast bands are model outputs, not people, and are not.
"""

from __future__ import annotations

import csv
import io
import math
import re
from typing import Any

from ...govern import DEFAULT_K, audit, suppress
from ...outbreak import (
    CALIBRATION_FILE,
    OutbreakCalibrationError,
    OutbreakConfigError,
    OutbreakIngestError,
    OutbreakScenarioError,
    ingest_counts,
    outbreak_config,
    run_calibration,
    run_chime,
    run_compare,
    run_forecast,
)
from ...outbreak._ingest import load_counts
from ...outbreak._scenarios import Mode
from ..problems import ProblemError
from ..schemas_health import (
    ChimeOut,
    CountsRow,
    HealthIngestOut,
    OutbreakCalibrationOut,
    OutbreakForecastOut,
)
from .health_common import HTTP_SOURCE, ingest_posted, not_ready, require_template
from .registry import TwinHandle

__all__ = ["calibrate", "chime_out", "compare_out", "forecast_out", "ingest_rows"]

TEMPLATE = "outbreak"
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_METRICS = ("admissions", "census", "icu", "ventilated")
_EXPECTED = (OutbreakConfigError, OutbreakCalibrationError, OutbreakIngestError, ValueError)


def _observed(handle: TwinHandle, k: int) -> dict[str, list[dict[str, Any]]]:
    counts = load_counts(handle.twin.engine)
    out: dict[str, list[dict[str, Any]]] = {}
    for metric in _METRICS:
        if metric not in counts.columns:
            continue
        series = counts[metric].dropna()
        out[metric] = [
            {"date": str(day)[:10], "value": suppress(int(value), k)}
            for day, value in series.items()
        ]
    return out


def forecast_out(
    handle: TwinHandle,
    days: int,
    runs: int,
    seed: int,
    k: int = DEFAULT_K,
    mode: Mode = "stochastic",
) -> OutbreakForecastOut:
    """``days`` days of bands from the saved calibration (a fresh, unsaved one when there is
    none), and the observed counts; ``mode``: the binomial chain or the model's equations;
    stored as a run (``run_id``; the same request on the same calibration and data answers
    with the run stored before); 409 when the twin has no settings or counts."""
    require_template(handle, TEMPLATE)
    twin = handle.twin
    try:
        calibrated = (twin.path / CALIBRATION_FILE).is_file()
        # a GET: idempotent
        fc = run_forecast(twin, days, runs=runs, seed=seed, reuse=True, mode=mode)
        config = outbreak_config(twin)
    except _EXPECTED as exc:
        raise not_ready(handle, str(exc)) from None
    data = fc.to_json()
    capacity = config.capacity
    return OutbreakForecastOut(
        twin=twin.name,
        first_day=data["first_day"],
        days=data["days"],
        runs=data["runs"],
        seed=data["seed"],
        mode=data["mode"],
        metrics=data["metrics"],
        observed=_observed(handle, k),
        capacity={m: (capacity.of(m) if capacity else None) for m in _METRICS[1:]},
        calibrated=calibrated,
        run_id=fc.run_id,
    )


def compare_out(
    handle: TwinHandle,
    scenarios: list[str],
    days: int,
    reps: int,
    seed: int,
    mode: Mode = "stochastic",
) -> dict[str, Any]:
    """Scenarios (``NAME=30%@10``, or names stored in the twin's ``scenarios/``) against the
    baseline with common random numbers (``outbreak._scenarios``): the comparison's JSON with
    the id of its run record (``run_id``).
    422 for a scenario that cannot be read; 409 when the twin has no settings or counts."""
    require_template(handle, TEMPLATE)
    stored = handle.twin.path / "scenarios"
    for name in (s for s in scenarios if "=" not in s):  # never read a path named in a request
        if not _NAME.fullmatch(name) or not (stored / f"{name}.yaml").is_file():
            raise ProblemError(
                422,
                "invalid-scenario",
                "Invalid scenario",
                f"no stored scenario {name!r}: give NAME=30%@10 or a stored scenario's name",
            )
    try:
        comp = run_compare(handle.twin, scenarios, days, reps=reps, seed=seed, mode=mode)
    except OutbreakScenarioError as exc:
        raise ProblemError(422, "invalid-scenario", "Invalid scenario", str(exc)) from None
    except _EXPECTED as exc:
        raise not_ready(handle, str(exc)) from None
    return {"twin": handle.twin.name, "run_id": comp.run_id, **comp.to_json()}


def calibrate(handle: TwinHandle, actor: str) -> OutbreakCalibrationOut:
    """Calibrate to every stored count and save it (audited); its summary."""
    require_template(handle, TEMPLATE)
    twin = handle.twin
    try:
        with handle.lock:
            cal = run_calibration(twin, save=True)
    except _EXPECTED as exc:
        raise not_ready(handle, str(exc)) from None
    audit.append(
        twin.engine,
        actor=actor,
        action="calibrate",
        target=CALIBRATION_FILE,
        detail={"watermark": cal.watermark.isoformat(), "days": cal.days},
    )
    aic = {k: float(v) for k, v in cal.aic.items() if math.isfinite(v)}
    return OutbreakCalibrationOut(
        twin=twin.name,
        start=cal.start.isoformat(),
        watermark=cal.watermark.isoformat(),
        days=cal.days,
        series=list(cal.series),
        estimates={k: float(v) for k, v in cal.estimates.items()},
        intervals={k: list(v) for k, v in cal.intervals.items()},
        noise=cal.noise,
        aic=aic,
        converged=bool(cal.converged),
        n_obs=int(cal.n_obs),
    )


def chime_out(handle: TwinHandle) -> ChimeOut:
    """The CHIME projection of the twin's ``chime:`` inputs (409 when there are none)."""
    require_template(handle, TEMPLATE)
    try:
        result = run_chime(handle.twin)
    except OutbreakConfigError as exc:
        raise not_ready(handle, f"{exc}: {exc.hint}") from None
    return ChimeOut(twin=handle.twin.name, **result.to_dict())


def _csv(rows: list[CountsRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["date", *_METRICS])
    for row in rows:
        cells = [getattr(row, m) for m in _METRICS]
        writer.writerow([row.date, *("" if c is None else _cell(c) for c in cells)])
    return buffer.getvalue()


def _cell(value: float | str) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def ingest_rows(handle: TwinHandle, rows: list[CountsRow], actor: str) -> HealthIngestOut:
    """Store posted daily counts through the CSV path (same checks, same quarantine): the
    rows are written as a wide CSV file named ``http-counts.csv`` and ingested (audited)."""
    require_template(handle, TEMPLATE)
    twin = handle.twin
    report, path = ingest_posted(
        handle,
        "http-counts.csv",
        _csv(rows),
        lambda file: ingest_counts(file, twin.engine),
        (OutbreakIngestError,),
    )
    report.source = HTTP_SOURCE
    audit.ingested(twin.engine, report, actor)
    return HealthIngestOut(
        twin=twin.name,
        accepted=report.accepted,
        duplicate=report.duplicate,
        quarantined=report.quarantined,
        reasons=[r.replace(path, "the batch") for r in report.reasons[:20]],
        gaps=report.gaps,
    )
