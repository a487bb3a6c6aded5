"""The social-services twin over HTTP: the backlog forecast from the present, the equity table
(by district, priority and team) and JSON case events (checked and quarantined as a file's
are). Blocking: run in a worker thread.

Counts of people (open cases now, decisions per group) leave through ``govern.suppress``: 1 to
k - 1 answered as ``"<k"``, and a suppressed group's rates are left out (they could single
people out). Forecast quantiles of the backlog are model outputs and are not suppressed.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import numpy as np

from ...casework import (
    TEMPLATE,
    CaseIngestError,
    CaseworkCalibrationError,
    CaseworkConfigError,
    casework_config,
    equity_table,
    ingest_case_events,
    load_casework_calibration,
    run_forecast,
)
from ...experiment import run_experiment
from ...govern import DEFAULT_K, audit, protect_breakdown, suppress
from ..schemas_ops import CaseEventIn, CaseworkEquityOut, CaseworkForecastOut, OpsIngestOut
from .health_common import HTTP_SOURCE, ingest_posted, not_ready, require_template
from .registry import TwinHandle

__all__ = ["TEMPLATE", "equity_out", "forecast_out", "ingest_rows"]

_EXPECTED = (CaseworkCalibrationError, CaseworkConfigError, ValueError)
_COLUMNS = ("event_id", "case_id", "type", "time", "team", "district", "group", "priority")
#: Steady-state runs of the equity table start after this warm-up from empty (days).
WARMUP_DAYS = 90.0


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _message(exc: Exception) -> str:
    hint = getattr(exc, "hint", None)
    return f"{exc}: {hint}" if hint else str(exc)


def _far(exc: OverflowError) -> str:
    return f"cannot forecast from the stored times ({exc}): is a record dated far in the future?"


def forecast_out(
    handle: TwinHandle, days: float, reps: int, seed: int, k: int = DEFAULT_K
) -> CaseworkForecastOut:
    """``days`` days from the present (same arguments: same numbers), recorded as a run (an
    identical stored run is reused: its ``run_id``); 409 without a calibration or events."""
    require_template(handle, TEMPLATE)
    twin = handle.twin
    try:
        deadline = casework_config(twin).deadline_days
        fc = run_forecast(twin, days, reps=reps, seed=seed, reuse=True)
    except _EXPECTED as exc:
        raise not_ready(handle, _message(exc)) from None
    except OverflowError as exc:  # a stored time near year 9999: the days ahead overflow
        raise not_ready(handle, _far(exc)) from None
    data = fc.to_dict()
    daily = data["daily"]
    quantiles = [c for c in daily[0] if c.startswith("p")] if daily else []

    def rows(measure: str) -> list[dict[str, Any]]:
        return [
            {"day": r["day"], "date": r["date"], **{q: _num(r[q]) for q in quantiles}}
            for r in daily
            if r["measure"] == measure
        ]

    kpis = {
        str(r["kpi"]): {q: _num(v) for q, v in r.items() if q != "kpi"} for r in data["summary"]
    }
    return CaseworkForecastOut(
        twin=twin.name,
        at=data["at"],
        days=days,
        reps=reps,
        seed=seed,
        deadline_days=deadline,
        open_cases=suppress(int(data["open_cases"]), k),
        open_past_deadline=suppress(int(data["open_past_deadline"]), k),
        backlog=rows("backlog"),
        waiting=rows("waiting"),
        kpis=kpis,
        run_id=fc.run_id,
    )


def _observed(observed: dict[str, Any], k: int) -> dict[str, dict[str, Any]]:
    """The calibration's observed KPIs, person counts suppressed below ``k`` with their
    rates left out."""
    out: dict[str, dict[str, Any]] = {}
    people = {key: int(r["decisions"]) for key, r in observed.items() if "decisions" in r}
    protected = protect_breakdown(people, "all", k)  # "all" and its breakdowns: secondary too
    for key, row in observed.items():
        if "decisions" in row:
            shown = protected[key]
            small = isinstance(shown, str)
            out[key] = {
                "decisions": shown,
                "time_to_decision": None if small else _num(row.get("time_to_decision")),
                "within_deadline": None if small else _num(row.get("within_deadline")),
            }
        elif "cases" in row:
            out[key] = {"cases": suppress(int(row["cases"]), k)}
    return out


def equity_out(
    handle: TwinHandle, days: float, reps: int, seed: int, target: float, k: int = DEFAULT_K
) -> CaseworkEquityOut:
    """The calibrated model run ``days`` days after a warm-up, ``reps`` times: decisions, time
    to decision and the share within the deadline per group, beside what was observed."""
    require_template(handle, TEMPLATE)
    twin = handle.twin
    try:
        cal = load_casework_calibration(twin)
        model = cal.model(None)
        spec = model.spec(days + WARMUP_DAYS, warmup=WARMUP_DAYS)
    except _EXPECTED as exc:
        raise not_ready(handle, _message(exc)) from None
    result = run_experiment(spec, reps=reps, seed=seed)
    kpis = {key: np.asarray(v, dtype=float) for key, v in model.kpis(result.per_rep).items()}
    table = equity_table(model, kpis, k)
    groups = [
        {
            "group": str(r["group"]),
            "decisions": r["decisions"] if isinstance(r["decisions"], str) else int(r["decisions"]),
            "time_to_decision": _num(r["time_to_decision"]),
            "within_deadline": _num(r["within_deadline"]),
        }
        for r in table.to_dict("records")
    ]
    return CaseworkEquityOut(
        twin=twin.name,
        days=days,
        reps=reps,
        seed=seed,
        k=k,
        deadline_days=float(model.deadline_days),
        target=target,
        model=groups,
        observed=_observed(cal.observed_, k),
    )


def _csv(rows: list[CaseEventIn]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_COLUMNS)
    for row in rows:
        values = row.model_dump()
        writer.writerow(["" if values.get(c) is None else values[c] for c in _COLUMNS])
    return buffer.getvalue()


def ingest_rows(handle: TwinHandle, rows: list[CaseEventIn], actor: str) -> OpsIngestOut:
    """Store posted case events through the file path (same checks, same quarantine, same
    idempotence): written as a CSV file ``http-case-events.csv`` and ingested (audited)."""
    require_template(handle, TEMPLATE)
    twin = handle.twin
    report, path = ingest_posted(
        handle,
        "http-case-events.csv",
        _csv(rows),
        lambda file: ingest_case_events(file, twin.engine, twin.pseudonymise),
        (CaseIngestError,),
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
