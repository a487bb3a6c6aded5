"""Comparisons as recorded runs: compare on a hospital twin or a flow spec, store the run, and
run it again (``twinsight rerun``) from the record."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from ..assimilate import current_state
from ..forecast._build import model_from_calibration, rate_cv_from
from ..scale import Executor
from ..spec import FlowSpec
from ..twin import Twin
from ._compare import Comparison, PairedTarget, Progress, compare, hospital_variants, spec_variants
from ._hospital import model_from_params, model_params, state_as_of
from ._runs import RunRecord, received_watermark, record_run, spec_hash
from ._scenario import Scenario

__all__ = ["compare_hospital", "compare_spec", "rerun_compare"]


def _result(comp: Comparison) -> dict[str, Any]:
    out = comp.to_json()
    out["spec_hashes"] = {v.name: spec_hash(v.spec) for v in comp.variants}
    return out


def _targets(request: dict[str, Any]) -> list[PairedTarget]:
    return [PairedTarget(**t) for t in request.get("targets", [])]


def compare_hospital(
    twin: Twin,
    scenarios: Sequence[Scenario],
    *,
    days: float = 7.0,
    reps: int = 200,
    seed: int = 1,
    at: datetime | None = None,
    targets: Sequence[PairedTarget] = (),
    max_reps: int = 5000,
    progress: Progress | None = None,
    record: bool = True,
    parameter_uncertainty: bool = False,
    executor: Executor | str | None = None,
    workers: int | None = None,
) -> tuple[Comparison, str | None]:
    """Compare the scenarios with the baseline from the hospital twin's present (the state at
    ``at``, default the latest event) for ``days`` days; recorded as a run unless ``record`` is
    False. Returns the comparison and the run id.

    By default the comparison is conditional on the calibrated parameters; with
    ``parameter_uncertainty`` each replication also draws the arrival level and the units' mean
    stays from the calibration's uncertainty (the same draw in every variant; about 4x slower,
    as each replication then runs a spec of its own).

    ``executor``/``workers``: where the replications run (see ``compare``). The executor is
    not recorded: the numbers do not depend on it, so ``rerun`` may use any."""
    from ..hospital._ops import _calibration, configured_beds

    received = received_watermark(twin.engine)
    state = current_state(twin.engine, at, recent_only=True)
    cal = _calibration(twin, state.at)
    model = model_from_calibration(cal, configured_beds(twin))
    cv = rate_cv_from(cal)
    if not parameter_uncertainty:
        model, cv = dataclasses.replace(model, los_se={}), 0.0
    variants = hospital_variants(model, state, scenarios, days)
    comp = compare(variants, reps=reps, seed=seed, rate_cv=cv, days=days,
                   start=state.at, targets=targets, max_reps=max_reps,
                   progress=progress, executor=executor, workers=workers)  # fmt: skip
    if not record:
        return comp, None
    request = {
        "source": "hospital",
        "days": days,
        "reps": comp.reps,
        "seed": seed,
        "at": state.at.isoformat(),
        "rate_cv": cv,
        "parameter_uncertainty": parameter_uncertainty,
        "scenarios": [sc.to_json() for sc in scenarios],
        "targets": [t.__dict__ for t in targets],
        "max_reps": max_reps,
    }
    run_id = record_run(
        twin.engine,
        kind="compare",
        twin=twin.name,
        request=request,
        result=_result(comp),
        spec_hash=spec_hash(variants[0].spec),
        parameters=model_params(model),
        seeds=[seed],
        reps=comp.reps,
        data_at=state.at,
        data_received=received,
    )
    return comp, run_id


def compare_spec(
    spec: FlowSpec,
    scenarios: Sequence[Scenario],
    *,
    reps: int = 20,
    seed: int = 1,
    kpis: Sequence[str] = (),
    targets: Sequence[PairedTarget] = (),
    max_reps: int = 5000,
    progress: Progress | None = None,
    store: Engine | None = None,
    chunk: int = 100,
    executor: Executor | str | None = None,
    workers: int | None = None,
) -> tuple[Comparison, str | None]:
    """Compare the scenarios with a plain flow spec; recorded in ``store`` when given (the twin
    name is ``spec:<spec name>``) once every replication has finished (``chunk``: replications
    per variant between progress calls, each batch one set of jobs on ``executor``; see
    ``compare``; the executor is not recorded, the numbers do not depend on it)."""
    comp = compare(spec_variants(spec, scenarios), reps=reps, seed=seed, kpis=kpis,
                   targets=targets, max_reps=max_reps, progress=progress,
                   chunk=chunk, executor=executor, workers=workers)  # fmt: skip
    if store is None:
        return comp, None
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
    run_id = record_run(
        store,
        kind="compare",
        twin=f"spec:{spec.name}",
        request=request,
        result=_result(comp),
        spec_hash=spec_hash(spec),
        seeds=[seed],
        reps=comp.reps,
    )
    return comp, run_id


def rerun_compare(
    engine: Engine, record: RunRecord, executor: Executor | str | None = None
) -> tuple[dict[str, Any], str]:
    """Run a recorded comparison again: the same scenarios, seed and replications (and, on a
    hospital twin, the recorded model and the state from the data held at the watermark), on
    ``executor`` (any: the numbers do not depend on it)."""
    req = record.request
    scenarios = [Scenario.model_validate(s) for s in req["scenarios"]]
    common: dict[str, Any] = {
        "reps": int(req["reps"]),
        "seed": int(req["seed"]),
        "targets": _targets(req),
        "max_reps": int(req["max_reps"]),
        "executor": executor,
    }
    if req["source"] == "spec":
        spec = FlowSpec.model_validate(req["spec"])
        comp = compare(spec_variants(spec, scenarios), kpis=req.get("kpis", []), **common)
        return _result(comp), spec_hash(spec)
    model = model_from_params(record.parameters)
    at = datetime.fromisoformat(req["at"])
    state = state_as_of(engine, at, record.data_received)
    days = float(req["days"])
    variants = hospital_variants(model, state, scenarios, days)
    comp = compare(variants, rate_cv=float(req["rate_cv"]),
                   days=days, start=state.at, **common)  # fmt: skip
    return _result(comp), spec_hash(variants[0].spec)
