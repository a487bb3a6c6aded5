"""Operations of a social-services twin, shared by the CLI, the service and notebooks: ingest
case event files, calibrate and save, the present, forecast, the calibrated model as a flow
spec (for ``twinsight compare --spec`` and ``twinsight optimise``), and the equity table.

Settings live in the twin's ``twin.yaml`` under ``casework:`` (all optional)::

    casework:
      deadline_days: 28          # statutory time from referral to decision
      caseload: 12               # open cases per worker
      workers: {alpha: 7, beta: 6}   # per team; teams not named are estimated from the data
      priorities: [urgent, standard] # most urgent first (the triage rule's order)
      window_days: 182           # history used by the calibration
      segment: district          # or group: teams serve client groups (children, adults, ...)
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..govern import DEFAULT_K, audit, suppress
from ..govern._audit import cli_actor
from ..scale import Executor
from ..twin import Twin
from ._calibrate import CaseworkCalibration, CaseworkCalibrationError
from ._cases import by_segment, case_history
from ._events import CaseIngestReport, ingest_case_events, load_case_events
from ._forecast import CaseState, CaseworkForecast, case_state, forecast_casework
from ._model import CaseworkModel
from ._uncertainty import parameter_draws

__all__ = [
    "CALIBRATION_FILE",
    "TEMPLATE",
    "CaseworkConfig",
    "CaseworkConfigError",
    "casework_config",
    "equity_table",
    "export_spec",
    "forecast_from",
    "ingest",
    "load_casework_calibration",
    "present",
    "run_calibration",
    "run_forecast",
]

#: The template name of a social-services twin.
TEMPLATE = "social-services"
CALIBRATION_FILE = "casework_calibration.json"
#: Groups of forecast replications, each with its own draw of the parameters.
DEFAULT_GROUPS = 40


class CaseworkConfigError(ValueError):
    """A bad ``casework:`` section in twin.yaml; ``hint`` says what to write."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


class CaseworkConfig(BaseModel):
    """The ``casework:`` section of twin.yaml (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    deadline_days: float = Field(default=28.0, gt=0)
    caseload: int = Field(default=12, ge=1)
    workers: dict[str, int] = Field(default_factory=dict)
    priorities: list[str] = Field(default_factory=list)
    window_days: float = Field(default=182.0, gt=0)
    segment: Literal["district", "group"] = "district"


def casework_config(twin: Twin) -> CaseworkConfig:
    """The twin's ``casework:`` settings (defaults when absent)."""
    path = twin.path / "twin.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CaseworkConfigError(f"{path}: cannot read ({exc})", "check the file") from None
    section = data.get("casework") or {}
    try:
        return CaseworkConfig.model_validate(section)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(map(str, err["loc"]))
        raise CaseworkConfigError(
            f"{path}: casework.{where}: {err['msg']}",
            "allowed: deadline_days, caseload, workers {team: n}, priorities [..], window_days,"
            " segment (district or group)",
        ) from None


def ingest(twin: Twin, files: Sequence[Path]) -> list[CaseIngestReport]:
    """Ingest case event files (CSV or Parquet) into the twin's store; each one audited."""
    return [
        audit.ingested(twin.engine, ingest_case_events(p, twin.engine, twin.pseudonymise))
        for p in files
    ]


def run_calibration(
    twin: Twin, until: datetime | None = None, window_days: float | None = None, save: bool = True
) -> CaseworkCalibration:
    """Calibrate from the stored events with the twin's settings; saved in
    ``<twin>/casework_calibration.json`` (and audited) when ``save``."""
    cfg = casework_config(twin)
    cal = CaseworkCalibration(
        window_days=window_days or cfg.window_days,
        deadline_days=cfg.deadline_days,
        caseload=cfg.caseload,
        workers=cfg.workers or None,
        priorities=cfg.priorities or None,
        segment=cfg.segment,
    ).fit(load_case_events(twin.engine, until), until)
    if save:
        path = twin.path / CALIBRATION_FILE
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(cal.to_dict(), allow_nan=True), encoding="utf-8")
        os.replace(tmp, path)
        audit.append(
            twin.engine,
            actor=cli_actor(),
            action="calibrate",
            target=CALIBRATION_FILE,
            detail={"watermark": cal.until_.isoformat(), "window_days": cal.window_days},
        )
    return cal


def load_casework_calibration(twin: Twin) -> CaseworkCalibration:
    """The saved calibration; ``CaseworkCalibrationError`` if there is none yet."""
    path = twin.path / CALIBRATION_FILE
    if not path.is_file():
        raise CaseworkCalibrationError(
            f"twin '{twin.name}' has no calibration yet: run 'twinsight calibrate {twin.name}'"
        )
    return CaseworkCalibration.from_dict(json.loads(path.read_text(encoding="utf-8")))


def _model(
    twin: Twin, workers: Mapping[str, int] | None
) -> tuple[CaseworkCalibration, CaseworkModel]:
    cal = load_casework_calibration(twin)
    return cal, cal.model(workers)


def present(twin: Twin, at: datetime | None = None) -> CaseState:
    """The open cases at ``at`` (default: the latest event) placed in the calibrated model."""
    cal, model = _model(twin, None)
    events = by_segment(load_case_events(twin.engine, at), cal.segment)
    if events.empty:
        raise CaseworkCalibrationError("there are no case events: ingest some first")
    when = at or events["time"].max().to_pydatetime()
    return case_state(case_history(events, when), model, when)


def run_forecast(
    twin: Twin,
    days: float,
    *,
    reps: int = 200,
    seed: int = 1,
    at: datetime | None = None,
    workers: Mapping[str, int] | None = None,
    groups: int = DEFAULT_GROUPS,
    record: bool = True,
    reuse: bool = False,
    executor: Executor | str | None = None,
) -> CaseworkForecast:
    """Forecast the backlog and deadline performance from the present (see ``_forecast``),
    with referrals at the level of the calibration's last ``recent_days``; ``groups`` groups of
    replications each draw the parameters the calibration does not know (``_uncertainty``; 0:
    the calibrated values exactly, the process noise alone). ``record``: stored as a run
    (``casework._runs``; its id in ``run_id``); ``reuse``: an identical stored run's id
    instead of a new row (an idempotent GET). ``executor``: where the replications run
    (``twinsight.scale``; None: here); not recorded, the numbers do not depend on it."""
    from ._runs import record_casework_forecast

    cal = load_casework_calibration(twin)
    fc = forecast_from(cal, present(twin, at), days, reps=reps, seed=seed, workers=workers,
                       groups=groups, executor=executor)  # fmt: skip
    if not record:
        return fc
    run_id = record_casework_forecast(twin.engine, twin.name, cal, fc, groups=groups,
                                      workers=workers, reuse=reuse)  # fmt: skip
    return dataclasses.replace(fc, run_id=run_id)


def forecast_from(
    cal: CaseworkCalibration,
    state: CaseState,
    days: float,
    *,
    reps: int = 200,
    seed: int = 1,
    workers: Mapping[str, int] | None = None,
    groups: int = DEFAULT_GROUPS,
    executor: Executor | str | None = None,
) -> CaseworkForecast:
    """The forecast of a calibration from ``state`` (see :func:`run_forecast`); ``workers``:
    caseworkers per team, ``executor``: where the replications run."""
    model = cal.model(workers, recent=True)
    n = min(groups, reps)
    variants = parameter_draws(cal, n, seed, workers=workers) if n > 0 else []
    return forecast_casework(model, state, days, reps=reps, seed=seed, variants=variants,
                             executor=executor)  # fmt: skip


class _PlainDumper(yaml.SafeDumper):
    """Writes repeated values in full (no YAML anchors): a spec a person can edit."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def export_spec(
    twin: Twin,
    out: Path,
    *,
    days: float = 365.0,
    warmup: float = 90.0,
    workers: Mapping[str, int] | None = None,
) -> CaseworkModel:
    """Write the calibrated model as a flow-spec YAML file (steady state: ``days`` simulated
    after ``warmup`` from empty) for ``twinsight compare --spec`` and ``twinsight optimise``."""
    _, model = _model(twin, workers)
    data = model.spec_dict(days + warmup, warmup=warmup, name=f"casework twin {twin.name}")
    model.spec(days + warmup, warmup=warmup)  # validate before writing
    header = (
        f"# The social-services twin '{twin.name}' as a flow spec (days), written by\n"
        f"# 'twinsight casework spec'. Caseload slots: resources team_<team>.capacity = workers\n"
        f"# x caseload; deadline journeys dl:<district>:<priority> and team:<team>.\n"
    )
    text = yaml.dump(data, Dumper=_PlainDumper, sort_keys=False, width=100, default_flow_style=None)
    out.write_text(header + text, encoding="utf-8")
    return model


def equity_table(
    model: CaseworkModel, kpis: Mapping[str, np.ndarray], k: int = DEFAULT_K
) -> pd.DataFrame:
    """One row per group (``all``, ``district=..``, ``priority=..``, ``team=..``): decisions
    (people, mean per run, small cells suppressed below ``k``), time to decision (days) and the
    share within the deadline (means over replications; a group whose decisions are
    suppressed shows no rates either, which could otherwise single people out)."""
    rows = []
    for key in sorted({n[n.index("[") + 1 : -1] for n in kpis if n.startswith("decisions[")}):
        rows.append(_equity_row(key, kpis, f"[{key}]", k))
    rows.insert(0, _equity_row("all", kpis, "", k))
    return pd.DataFrame(rows, columns=["group", "decisions", "time_to_decision", "within_deadline"])


def _equity_row(label: str, kpis: Mapping[str, np.ndarray], suffix: str, k: int) -> dict[str, Any]:
    n = float(np.nanmean(kpis[f"decisions{suffix}"]))
    shown = suppress(round(n), k)
    small = isinstance(shown, str)
    mean = float(np.nanmean(kpis[f"time_to_decision{suffix}"])) if n > 0 else math.nan
    share = float(np.nanmean(kpis[f"within_deadline{suffix}"])) if n > 0 else math.nan
    return {
        "group": label,
        "decisions": shown,
        "time_to_decision": math.nan if small else mean,
        "within_deadline": math.nan if small else share,
    }
