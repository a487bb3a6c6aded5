"""The contact-centre twin's operations, shared by the CLI and Python: ingest, calibrate,
staffing, forecast and compare, reading the ``contact:`` settings of the twin's twin.yaml."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import ValidationError

from ..decide import Comparison, PairedTarget, ScenarioError, compare_spec
from ..experiment import run_experiment
from ..scale import Executor
from ..twin import Twin
from ._calibrate import WEEKDAYS, ContactCalibration, ContactCalibrationError, calibrate_contact
from ._ingest import ContactIngestReport, ingest_interactions, load_interactions
from ._model import GROUP, ContactModel, ContactSettings
from ._scenario import load_contact_scenario
from ._staffing import StaffingPlan, staff_intervals

__all__ = [
    "CALIBRATION_FILE",
    "ContactConfigError",
    "contact_model",
    "contact_settings",
    "ingest",
    "ingest_mqtt",
    "load_contact_calibration",
    "run_calibration",
    "run_compare",
    "run_forecast",
    "run_staffing",
    "save_contact_calibration",
]

CALIBRATION_FILE = "contact_calibration.json"
Progress = Callable[[int, int], None]


class ContactConfigError(ValueError):
    """twin.yaml's ``contact:`` block is wrong; ``hint`` says how to fix it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def contact_settings(twin: Twin) -> ContactSettings:
    """The ``contact:`` block of the twin's twin.yaml (defaults when absent)."""
    path = twin.path / "twin.yaml"
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ContactConfigError(f"{path}: cannot read ({exc})", "fix the YAML") from None
    block = config.get("contact") or {}
    try:
        settings = ContactSettings.model_validate(block)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        at = "contact." + ".".join(map(str, err["loc"]))
        raise ContactConfigError(
            f"{path}: {at}: {err['msg']}",
            "see docs/contact-centre.md for the fields of 'contact:'",
        ) from None
    if settings.interval_minutes not in (15, 30, 60):
        raise ContactConfigError(
            f"{path}: contact.interval_minutes: {settings.interval_minutes} is not 15, 30 or 60",
            "use 15 or 30",
        )
    return settings


def ingest(twin: Twin, files: Sequence[Path]) -> list[ContactIngestReport]:
    """Ingest interaction files (CSV or Parquet) into the twin's store, in order."""
    from ..govern import audit

    return [
        audit.ingested(twin.engine, ingest_interactions(f, twin.engine, twin.pseudonymise))
        for f in files
    ]


def ingest_mqtt(twin: Twin, url: str, topics: Sequence[str], **options: Any) -> Any:
    """Subscribe to MQTT ``topics`` and store their interaction records (audited);
    ``options`` as for ``ingest_interactions_mqtt``."""
    from ..govern import audit
    from ._live import ingest_interactions_mqtt

    report = ingest_interactions_mqtt(url, topics, twin.engine, twin.pseudonymise, **options)
    return audit.ingested(twin.engine, report)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def save_contact_calibration(folder: Path, cal: ContactCalibration) -> Path:
    """Write the calibration to ``<folder>/contact_calibration.json`` (atomically)."""
    path = folder / CALIBRATION_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(_clean(cal.to_dict()), allow_nan=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_contact_calibration(folder: Path) -> ContactCalibration:
    """The saved calibration; ``ContactCalibrationError`` when there is none."""
    path = folder / CALIBRATION_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ContactCalibrationError(
            f"{path}: no calibration yet: run 'twinsight calibrate NAME' first"
        ) from None
    return ContactCalibration.from_dict(data)


def run_calibration(twin: Twin, until: datetime | None = None) -> ContactCalibration:
    """Calibrate from the stored interactions of the last ``window_days`` before ``until``
    (default: the latest call) and save the result."""
    settings = contact_settings(twin)
    frame = load_interactions(twin.engine, until=until)
    if frame.empty:
        raise ContactCalibrationError(
            "no interactions stored: ingest a file first (twinsight ingest NAME FILE)"
        )
    end = frame["arrived_at"].max()
    since = end - timedelta(days=settings.window_days)
    frame = frame[frame["arrived_at"] > since]
    cal = calibrate_contact(
        frame,
        interval_minutes=settings.interval_minutes,
        target_seconds=settings.service_level.seconds,
    )
    path = save_contact_calibration(twin.path, cal)
    from ..govern import audit

    audit.calibrated(twin.engine, cal, path.name)
    return cal


def contact_model(twin: Twin, handle_factor: float = 1.0) -> ContactModel:
    """The calibrated model with the twin's settings."""
    cal = load_contact_calibration(twin.path)
    settings = contact_settings(twin)
    if settings.interval_minutes != cal.interval_minutes:
        raise ContactConfigError(
            f"the calibration has {cal.interval_minutes}-minute intervals, twin.yaml asks for "
            f"{settings.interval_minutes}",
            "run 'twinsight calibrate NAME' again",
        )
    return ContactModel(cal, settings, {q: handle_factor for q in cal.queues})


def run_staffing(
    twin: Twin,
    weekdays: list[str] | None = None,
    *,
    method: str = "auto",
    seed: int = 1,
    reps: int = 10,
    starts: list[str] | None = None,
    progress: Progress | None = None,
) -> StaffingPlan:
    """The per-interval staffing plan of the twin (see ``staff_intervals``)."""
    return staff_intervals(
        contact_model(twin),
        weekdays,
        method=method,
        seed=seed,
        reps=reps,
        starts=starts,
        progress=progress,
    )


def _plan_agents(
    twin: Twin, method: str, seed: int
) -> tuple[ContactModel, dict[str, list[int]], str]:
    """The twin's productive agents per queue over the week (7 x slots, Monday first): by its
    roster (``contact.roster``) when it has one, else by the staffing plan of ``method``; and
    which of the two."""
    from ._roster import RosterError, read_roster

    model = contact_model(twin)
    if model.settings.roster:
        path = Path(model.settings.roster)
        path = path if path.is_absolute() else twin.path / path
        try:
            agents = read_roster(path, model)
        except RosterError as exc:
            raise ContactConfigError(str(exc), "fix the roster or remove contact.roster") from None
        return model, agents, f"roster {path.name}"
    plan = staff_intervals(model, None, method=method, seed=seed)
    agents = {**plan.agents, **{f"{GROUP}{g}": v for g, v in plan.groups.items()}}
    return model, agents, f"{method} plan"


def start_day(model: ContactModel) -> str:
    """The weekday a forecast or comparison starts on (the calibration's last day's)."""
    return WEEKDAYS[(model.calibration.last.weekday()) % 7]


def _plan_spec(twin: Twin, days: float, method: str, seed: int) -> tuple[ContactModel, Any, str]:
    """The twin's week as a flow spec staffed as :func:`_plan_agents` says; and by what."""
    model, agents, staffed = _plan_agents(twin, method, seed)
    return model, model.week_spec(agents, days, start_day=start_day(model)), staffed


def run_forecast(
    twin: Twin,
    days: float,
    *,
    reps: int = 20,
    seed: int = 1,
    method: str = "erlang",
    record: bool = True,
    reuse: bool = False,
    executor: Executor | str | None = None,
) -> dict[str, Any]:
    """The coming ``days`` (from the day after the calibration window) simulated with the
    staffing plan (``method``): per queue, the service level, ASA (seconds), abandonment,
    occupancy and predicted satisfaction, each as a mean with its 95% half-width.
    ``record``: stored as a run (``contact._runs``; its id in ``run_id``); ``reuse``: an
    identical stored run's id instead of a new row (an idempotent GET). ``executor``: where
    the replications run (``twinsight.scale``; None: here); not recorded, the numbers do not
    depend on it."""
    from ._runs import record_contact_forecast

    model, agents, staffed = _plan_agents(twin, method, seed)
    out = forecast_numbers(model, agents, staffed, days, reps=reps, seed=seed, executor=executor)
    if record:
        out["run_id"] = record_contact_forecast(
            twin.engine, twin.name, model, agents, out, method=method, reuse=reuse
        )
    return out


def forecast_numbers(
    model: ContactModel,
    agents: dict[str, list[int]],
    staffed: str,
    days: float,
    *,
    reps: int,
    seed: int,
    executor: Executor | str | None = None,
) -> dict[str, Any]:
    """The forecast of ``model`` staffed by ``agents`` (see :func:`run_forecast`); the
    replications run on ``executor`` (replication ``i`` has the streams of ``i`` on any)."""
    spec = model.week_spec(agents, days, start_day=start_day(model))
    result = run_experiment(spec, reps=reps, seed=seed, engine="fast", executor=executor)
    values = {k: np.asarray(v, dtype=float) for k, v in result.per_rep.items()}
    out: dict[str, Any] = {
        "days": days,
        "reps": reps,
        "seed": seed,
        "staffed_by": staffed,
        "start": model.calibration.last.date().isoformat(),
        "queues": {},
    }
    for q in model.queues:
        served, gone = values[f"served[{q}]"], values[f"abandoned[{q}]"]
        asa = values[f"wait_mean[{q}]"]
        per = {
            "service_level": values[f"wait_within_target[{q}]"],
            "asa_seconds": 60.0 * asa,
            "abandon": gone / np.maximum(served + gone, 1.0),
            "occupancy": values[f"utilisation[agents_{q}]"],
            "satisfaction": np.array([model.satisfaction(a, q) for a in asa]),
            "calls": served + gone,
        }
        out["queues"][q] = {k: _ci(v) for k, v in per.items()}
    return out


def _ci(x: np.ndarray) -> dict[str, float | None]:
    from scipy import stats

    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"mean": None, "half_width": None}
    hw = (
        float(stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
        if x.size > 1
        else math.nan
    )
    return {"mean": float(x.mean()), "half_width": hw if math.isfinite(hw) else None}


def run_compare(
    twin: Twin,
    scenario_files: Sequence[str],
    *,
    days: float = 7.0,
    reps: int = 20,
    seed: int = 1,
    targets: Sequence[PairedTarget] = (),
    max_reps: int = 5000,
    progress: Progress | None = None,
    method: str = "erlang",
    executor: Executor | str | None = None,
    workers: int | None = None,
) -> tuple[Comparison, str | None]:
    """The twin's week (staffed by ``method``) against each scenario file, with common random
    numbers; recorded in the twin's store as a flow-spec comparison (rerun exactly). Each batch
    of replications runs on ``executor`` (``compare_spec``'s; not recorded)."""
    model, spec, _ = _plan_spec(twin, days, method, seed)
    scenarios = []
    for f in scenario_files:
        if not Path(f).is_file():
            raise ScenarioError(f"no scenario file '{f}': give the path of a scenario YAML file")
        scenarios.append(load_contact_scenario(f, spec))
    kpis = []
    for q in model.queues:
        kpis += [
            f"wait_within_target[{q}]",
            f"wait_mean[{q}]",
            f"abandoned[{q}]",
            f"utilisation[agents_{q}]",
        ]
    comp, _ = compare_spec(
        spec,
        scenarios,
        reps=reps,
        seed=seed,
        kpis=kpis,
        targets=targets,
        max_reps=max_reps,
        progress=progress,
        executor=executor,
        workers=workers,
    )
    run_id = _record(twin, model, spec, scenarios, comp, kpis, targets, max_reps, seed)
    _add_satisfaction(model, comp)
    return comp, run_id


def _record(
    twin: Twin,
    model: ContactModel,
    spec: Any,
    scenarios: Sequence[Any],
    comp: Comparison,
    kpis: Sequence[str],
    targets: Sequence[PairedTarget],
    max_reps: int,
    seed: int,
) -> str:
    """Store the comparison as a flow-spec comparison of this twin (``twinsight runs NAME``
    lists it; ``twinsight rerun`` runs the stored spec and scenarios again), with the
    calibration and settings as its parameters and the data watermark."""
    from ..decide._compare_runs import _result
    from ..decide._runs import record_run, spec_hash
    from ._runs import contact_watermark, model_parameters

    _, received = contact_watermark(twin.engine)

    request = {
        "source": "spec",
        "spec": spec.model_dump(mode="json", by_alias=True, exclude_none=True),
        "reps": comp.reps,
        "seed": seed,
        "kpis": list(kpis),
        "scenarios": [sc.to_json() for sc in scenarios],
        "targets": [t.__dict__ for t in targets],
        "max_reps": max_reps,
    }
    return record_run(
        twin.engine,
        kind="compare",
        twin=twin.name,
        request=request,
        result=_result(comp),
        spec_hash=spec_hash(spec),
        parameters=model_parameters(model),
        seeds=[seed],
        reps=comp.reps,
        data_at=model.calibration.last,
        data_received=received,
    )


def _mean_of(dist: dict[str, Any]) -> float:
    if "mean" in dist:
        return float(dist["mean"])
    if dist.get("dist") == "weibull":
        return float(dist["scale"]) * math.gamma(1 + 1 / float(dist["shape"]))
    if dist.get("dist") == "fixed":
        return float(dist["value"])
    return math.nan


def _add_satisfaction(model: ContactModel, comp: Comparison) -> None:
    """Add each queue's predicted mean satisfaction (the calibrated linear model at each
    replication's ASA and the variant's mean handle time) as a compared KPI, paired by
    replication like the others (computed from the recorded KPIs, so not stored apart)."""
    from ..decide._compare import KpiDef

    sat = model.calibration.satisfaction
    if sat is None:
        return
    b0, bw, bh = sat.coef_
    for q in model.queues:
        key = f"satisfaction[{q}]"
        for v, values in zip(comp.variants, comp.values, strict=True):
            service = v.spec.stations[q].service.model_dump(mode="json")
            values[key] = b0 + bw * values[f"wait_mean[{q}]"] + bh * _mean_of(service)
        comp.kpis.append(KpiDef(key, f"{q} satisfaction", "score"))
