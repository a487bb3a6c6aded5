"""The contact-centre twin over HTTP: the staffing plan of a weekday, the saved calibration,
the forecast of the coming days and JSON interaction records (checked and quarantined as a
file's are). Blocking: run in a worker thread.

Nothing here is a count of people below k: staffing, calibration and forecast are model
outputs and per-queue totals; posted records are pseudonymised on entry like a file's.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from ...contact import (
    COLUMNS,
    ContactCalibrationError,
    ContactConfigError,
    ContactIngestError,
    contact_settings,
    ingest_interactions,
    load_contact_calibration,
    run_forecast,
    run_staffing,
)
from ...govern import audit
from ...spec import SpecError
from ..schemas_ops import (
    ContactCalibrationOut,
    ContactForecastOut,
    InteractionIn,
    OpsIngestOut,
    StaffingOut,
)
from .health_common import HTTP_SOURCE, ingest_posted, not_ready, require_template
from .registry import TwinHandle

__all__ = ["TEMPLATE", "calibration_out", "forecast_out", "ingest_rows", "staffing_out"]

TEMPLATE = "contact-centre"
_EXPECTED = (ContactCalibrationError, ContactConfigError, SpecError, ValueError)


def _finite(value: Any) -> Any:
    """JSON-safe: NaN and infinities as None, numpy scalars as Python numbers."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def staffing_out(handle: TwinHandle, day: str, method: str) -> StaffingOut:
    """The plan of weekday ``day`` ("mon".."sun") by ``method`` (409 without a calibration)."""
    require_template(handle, TEMPLATE)
    twin = handle.twin
    try:
        settings = contact_settings(twin)
        plan = run_staffing(twin, [day], method=method)
        queues = load_contact_calibration(twin.path).queues
    except _EXPECTED as exc:
        raise not_ready(handle, _message(exc)) from None
    rows = [_finite(r) for r in plan.to_json()["intervals"]]
    return StaffingOut(
        twin=twin.name,
        day=day,
        method=method,
        interval_minutes=settings.interval_minutes,
        service_level=settings.service_level.model_dump(),
        max_abandon=settings.max_abandon,
        shrinkage=settings.shrinkage,
        queues=queues,
        intervals=rows,
    )


def _message(exc: Exception) -> str:
    hint = getattr(exc, "hint", None)
    return f"{exc}: {hint}" if hint else str(exc)


def _far(exc: OverflowError) -> str:
    return f"cannot forecast from the stored times ({exc}): is a record dated far in the future?"


def calibration_out(handle: TwinHandle) -> ContactCalibrationOut:
    """The saved calibration's summary (409 when there is none)."""
    require_template(handle, TEMPLATE)
    try:
        cal = load_contact_calibration(handle.twin.path)
    except _EXPECTED as exc:
        raise not_ready(handle, _message(exc)) from None
    table = cal.arrivals.table_
    weeks = max(sum(cal.arrivals.days_) / 7.0, 1e-9)
    queues: dict[str, dict[str, Any]] = {}
    for q in cal.queues:
        h, p = cal.handle[q], cal.patience[q]
        queues[q] = _finite(
            {
                "calls_per_week": float(table.loc[table["queue"] == q, "calls"].sum()) / weeks,
                **cal.observed[q],
                "handle": {"family": h.family_, "mean_minutes": float(h.mean_)},
                "patience": {"family": p.family_, "mean_minutes": float(p.mean_)} if p else None,
            }
        )
    sat = cal.satisfaction
    return ContactCalibrationOut(
        twin=handle.twin.name,
        first=cal.first.isoformat(),
        last=cal.last.isoformat(),
        interval_minutes=cal.interval_minutes,
        window_days=cal.window_days,
        queues=queues,
        satisfaction=_finite(sat.to_dict()) if sat is not None else None,
    )


def forecast_out(
    handle: TwinHandle, days: float, reps: int, seed: int, method: str
) -> ContactForecastOut:
    """``days`` days simulated ``reps`` times (same arguments: same numbers), recorded as a run
    (an identical stored run is reused: its ``run_id``)."""
    require_template(handle, TEMPLATE)
    twin = handle.twin
    try:
        target = contact_settings(twin).service_level.target
        out = run_forecast(twin, days, reps=reps, seed=seed, method=method, reuse=True)
    except _EXPECTED as exc:
        raise not_ready(handle, _message(exc)) from None
    except OverflowError as exc:  # a stored time near year 9999: the days ahead overflow
        raise not_ready(handle, _far(exc)) from None
    return ContactForecastOut(twin=twin.name, service_level_target=target, **_finite(out))


def _csv(rows: list[InteractionIn]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = list(COLUMNS)
    writer.writerow(names)
    for row in rows:
        values = row.model_dump()
        writer.writerow([_cell(values.get(n)) for n in names])
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def ingest_rows(handle: TwinHandle, rows: list[InteractionIn], actor: str) -> OpsIngestOut:
    """Store posted interactions through the file path (same checks, same quarantine, same
    idempotence): written as a CSV file ``http-interactions.csv`` and ingested (audited)."""
    require_template(handle, TEMPLATE)
    twin = handle.twin
    report, path = ingest_posted(
        handle,
        "http-interactions.csv",
        _csv(rows),
        lambda file: ingest_interactions(file, twin.engine, twin.pseudonymise),
        (ContactIngestError,),
    )
    report.source = HTTP_SOURCE
    audit.ingested(twin.engine, report, actor)
    return OpsIngestOut(
        twin=twin.name,
        accepted=report.accepted,
        duplicate=report.duplicate,
        quarantined=report.quarantined,
        reasons=[r.replace(path, "the batch") for r in report.reasons[:20]],
    )
