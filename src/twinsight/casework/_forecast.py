"""The present and the coming weeks: open cases as a warm start, and a forecast of the backlog
and of deadline performance with bands.

Each open case is placed where its last event leaves it (``referral``: at triage;
``triage``: waiting for a caseload slot; ``assessment_start`` or ``info_received``: being
assessed; ``info_requested``: waiting for information; ``decision``: being closed), with the
time already spent there (``elapsed``; the rest is drawn from the fitted distribution
conditioned on lasting that long) and its time since referral (``in_system``). A case not yet
triaged gets its district's most common priority. A case with no event for ``stale_days`` (90) is
left out (reported): it was most likely closed without a record.

The forecast runs the calibrated model from that state for ``days`` days, ``reps`` times, and
reports per day the backlog (open cases) and the cases waiting for a slot as quantiles over
replications; and over the whole horizon the decisions of cases referred in it, the share of
them decided within the deadline, and caseload per worker by team, as quantiles. Open cases
already past the deadline are counted from the data. With ``variants`` (``run_forecast`` gives
them), each group of replications runs its own draw of the parameters, so the bands hold what
the calibration does not know as well as the process noise (``_uncertainty``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ..engines import RepResult, kpi_names, run_window
from ..experiment import run_experiment
from ..scale import Executor, Job, JobRunner, RunTask
from ..spec import FlowSpec
from ._cases import CaseHistory, elapsed_days
from ._model import CaseworkModel, case_class, open_class, station

__all__ = ["QUANTILES", "CaseState", "CaseworkForecast", "case_state", "forecast_casework"]

QUANTILES = (5, 25, 50, 75, 95)
_PLACE = {
    "referral": ("triage", "in_service", False),
    "triage": ("assess", "waiting", False),
    "assessment_start": ("assess", "in_service", True),
    "info_received": ("assess", "in_service", True),
    "info_requested": ("info", "in_service", True),
    "decision": ("close", "in_service", True),
}


@dataclass(frozen=True)
class CaseState:
    """Open cases at ``at``: ``cases`` (one row each: case_key, district, priority, team, state,
    station, status, elapsed and in_system in days, past_deadline), ``stale`` (left out) and
    ``unplaced`` (no district known)."""

    at: datetime
    cases: pd.DataFrame
    stale: int
    unplaced: int

    def initial_state(self) -> list[dict[str, Any]]:
        """The ``initial_state`` groups of a flow spec (one per case)."""
        out = []
        for r in self.cases.to_dict("records"):
            elapsed, in_system = float(r["elapsed"]), float(r["in_system"])
            out.append(
                {
                    "station": str(r["station"]),
                    "class": str(r["cls"]),
                    "status": str(r["status"]),
                    "count": 1,
                    "elapsed": round(elapsed, 6),
                    "in_system": round(max(in_system, elapsed), 6),
                }
            )
        return out


def case_state(
    history: CaseHistory, model: CaseworkModel, at: datetime, stale_days: float = 90.0
) -> CaseState:
    """The open cases of ``history`` at ``at`` placed in ``model`` (see the module docstring)."""
    c = history.cases
    open_ = c[c["state"].isin(list(_PLACE))].copy()
    cut = pd.Timestamp(at)
    stale = open_["last"] < cut - pd.Timedelta(days=stale_days)
    n_stale = int(stale.sum())
    open_ = open_[~stale]
    known = open_["district"].isin(model.districts)
    unplaced = int((~known).sum())
    open_ = open_[known]
    rows = []
    for r in open_.itertuples(index=False):
        step, status, allocated = _PLACE[str(r.state)]
        team = r.team if r.team in model.teams else model.team_of(str(r.district))
        mix = model.priority_mix[str(r.district)]
        prio = r.priority if r.priority in model.priorities else max(mix, key=lambda p: mix[p])
        cls = (open_class if allocated else case_class)(str(r.district), str(prio))
        rows.append(
            {
                "case_key": r.case_key,
                "district": r.district,
                "priority": prio,
                "team": team,
                "state": r.state,
                "station": "triage" if step == "triage" else station(step, str(team)),
                "cls": cls,
                "status": status,
                "since": r.last,
                "referral": r.referral,
            }
        )
    cols = ["case_key", "district", "priority", "team", "state", "station", "cls", "status",
            "since", "referral"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=cols)
    frame["elapsed"] = elapsed_days(pd.to_datetime(frame["since"], utc=True), at)
    ref = pd.to_datetime(frame["referral"], utc=True)
    frame["in_system"] = np.where(ref.notna(), elapsed_days(ref, at), frame["elapsed"])
    frame["past_deadline"] = ref.notna() & (frame["in_system"] > model.deadline_days)
    return CaseState(at, frame.drop(columns=["since", "referral"]), n_stale, unplaced)


@dataclass(frozen=True)
class CaseworkForecast:
    """``daily``: one row per day ahead and measure (``backlog``, ``waiting``) with the
    quantiles ``p5`` .. ``p95``; ``summary``: one row per KPI (``decisions``,
    ``within_deadline``, ``caseload_per_worker[<team>]``, by district ...) with quantiles over
    replications; ``state``: the open cases it started from."""

    at: datetime
    days: float
    reps: int
    seed: int
    daily: pd.DataFrame
    summary: pd.DataFrame
    state: CaseState
    #: The id of its run record (``twinsight rerun``); None when not recorded.
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN as None)."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            out = frame.astype(object).where(frame.notna(), None).to_dict("records")
            return [{str(k): v for k, v in r.items()} for r in out]

        return {
            "at": self.at.isoformat(),
            "days": self.days,
            "reps": self.reps,
            "seed": self.seed,
            "open_cases": len(self.state.cases),
            "open_past_deadline": int(self.state.cases["past_deadline"].sum()),
            "daily": records(self.daily),
            "summary": records(self.summary),
        }


def _quantiles(values: np.ndarray) -> dict[str, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {f"p{q}": math.nan for q in QUANTILES}
    return {f"p{q}": float(np.percentile(finite, q)) for q in QUANTILES}


def _run_groups(
    specs: list[FlowSpec],
    sizes: list[int],
    seed: int,
    executor: Executor | str | None,
    workers: int | None,
) -> list[RepResult]:
    """Every replication of the groups, in order: group ``g`` runs replications ``first ..
    first + size - 1`` of its spec (``first``: the replications of the groups before it). The
    groups, cut into chunks, are jobs of ``executor`` (``twinsight.scale.JobRunner``; each job
    carries its group's spec, whose initial state holds the open cases)."""
    tasks = [RunTask(spec, seed, "fast", *run_window(spec)) for spec in specs]
    firsts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int).tolist()
    out: list[RepResult] = []
    with JobRunner(executor, workers=workers) as runner:
        size = runner.chunk_size(sum(sizes))
        jobs: list[Job] = [(task, range(first + k, first + min(n, k + size)))
                           for task, first, n in zip(tasks, firsts, sizes, strict=True)
                           for k in range(0, n, size)]  # fmt: skip
        for part in runner.map(jobs):
            out += part
    return out


def forecast_casework(
    model: CaseworkModel,
    state: CaseState,
    days: float,
    *,
    reps: int = 200,
    seed: int = 1,
    variants: Sequence[CaseworkModel] = (),
    executor: Executor | str | None = None,
    workers: int | None = None,
) -> CaseworkForecast:
    """Run ``model`` from ``state`` for ``days`` days (see the module docstring).

    ``variants``: one model per group of replications, each with its own draw of the
    parameters (``_uncertainty.parameter_draws``); replication ``i`` keeps the streams of
    replication number ``i`` whatever its group, so the same seed gives the same numbers.
    ``executor``: where the replications run (``twinsight.scale``; None: here, group after
    group); the numbers are the same on every executor, whatever the chunks."""
    at = state.at
    minutes = at.hour * 60 + at.minute
    models = list(variants)[:reps] or [model]
    sizes = [reps // len(models) + (1 if g < reps % len(models) else 0) for g in range(len(models))]
    series: dict[str, list[np.ndarray]] = {}
    per_rep: dict[str, list[np.ndarray]] = {}
    initial = state.initial_state()
    specs = [
        m.spec(
            days,
            start_day=("mon", "tue", "wed", "thu", "fri", "sat", "sun")[at.weekday()],
            start_time=f"{minutes // 60:02d}:{minutes % 60:02d}",
            initial_state=initial,
            interval=1.0,
            name="casework forecast",
        )
        for m in models
    ]
    spec = specs[-1]
    if executor is None:
        first = 0
        for one, size in zip(specs, sizes, strict=True):
            result = run_experiment(one, reps=size, seed=seed, first_rep=first)
            first += size
            for k, v in result.series.items():
                series.setdefault(k, []).append(v)
            for k, v in result.per_rep.items():
                per_rep.setdefault(k, []).append(v)
    else:
        results = _run_groups(specs, sizes, seed, executor, workers)
        series = {k: [np.vstack([r.series[k] for r in results])] for k in results[0].series}
        per_rep = {k: [np.array([r.kpis[k] for r in results], dtype=float)]
                   for k in kpi_names(spec)}  # fmt: skip
    joined = {k: np.vstack(v) for k, v in series.items()}
    stations = [s for s in spec.stations]
    backlog = np.sum([joined[f"occupancy[{s}]"] for s in stations], axis=0)
    waiting = np.sum([joined[f"queue[{station('assess', t)}]"] for t in model.teams], axis=0)
    rows = []
    for measure, values in (("backlog", backlog), ("waiting", waiting)):
        for day in range(values.shape[1]):
            day_at = at + timedelta(days=day)
            rows.append({"day": day + 1, "date": day_at.date().isoformat(), "measure": measure,
                         **_quantiles(values[:, day])})  # fmt: skip
    kpis = model.kpis({k: np.concatenate(v) for k, v in per_rep.items()})
    summary = [{"kpi": k, **_quantiles(np.asarray(v, dtype=float))} for k, v in kpis.items()]
    return CaseworkForecast(at, days, reps, seed, pd.DataFrame(rows), pd.DataFrame(summary), state)
