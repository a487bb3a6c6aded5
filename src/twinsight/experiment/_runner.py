"""Replications of a spec on an engine, summarised with t confidence intervals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from ..engines import get_engine, kpi_names, run_window
from ..scale import Executor, RunTask, run_reps
from ..spec import FlowSpec
from ._stats import Interval, t_interval

__all__ = ["ExperimentResult", "run_experiment"]

#: Called after each chunk of replications with (done, total).
Progress = Callable[[int, int], None]


@dataclass
class ExperimentResult:
    """Per-replication KPI values and series of one experiment, with their summaries."""

    spec_name: str
    engine: str
    seed: int
    reps: int
    horizon: float
    warmup: float
    time_unit: str
    per_rep: dict[str, np.ndarray]
    series: dict[str, np.ndarray] = field(default_factory=dict)
    confidence: float = 0.95

    def interval(self, kpi: str) -> Interval:
        """The confidence interval of one KPI's mean over replications."""
        return t_interval(self.per_rep[kpi], self.confidence)

    def summary(self) -> dict[str, Interval]:
        """Every KPI's interval, in the engines' KPI order."""
        return {k: self.interval(k) for k in self.per_rep}

    def extend(self, more: ExperimentResult) -> ExperimentResult:
        """This experiment followed by ``more`` (further replications of the same spec, seed,
        engine and run window)."""
        same = (self.spec_name, self.engine, self.seed, self.horizon, self.warmup)
        if same != (more.spec_name, more.engine, more.seed, more.horizon, more.warmup):
            raise ValueError("can only extend an experiment with replications of the same run")
        return replace(
            self,
            reps=self.reps + more.reps,
            per_rep={k: np.concatenate([v, more.per_rep[k]]) for k, v in self.per_rep.items()},
            series={k: np.vstack([v, more.series[k]]) for k, v in self.series.items()},
        )

    def to_json(self) -> dict[str, object]:
        """The CLI's ``--json`` object: kpis with mean and half_width, series (per bin of
        ``kpis.interval``: mean and half_width over replications), reps, seed, engine."""

        def num(x: float) -> float | None:
            return None if not np.isfinite(x) else float(x)

        kpis = {
            k: {"mean": num(iv.mean), "half_width": num(iv.half_width), "n": iv.n}
            for k, iv in self.summary().items()
        }
        series = {}
        for key, rows in self.series.items():
            bins = [t_interval(rows[:, b], self.confidence) for b in range(rows.shape[1])]
            series[key] = {
                "mean": [num(iv.mean) for iv in bins],
                "half_width": [num(iv.half_width) for iv in bins],
            }
        return {
            "spec": self.spec_name,
            "kpis": kpis,
            "series": series,
            "reps": self.reps,
            "seed": self.seed,
            "engine": self.engine,
            "horizon": self.horizon,
            "warmup": self.warmup,
            "time_unit": self.time_unit,
            "confidence": self.confidence,
        }


def run_experiment(
    spec: FlowSpec,
    reps: int = 10,
    seed: int = 1,
    engine: str = "fast",
    *,
    horizon: float | None = None,
    warmup: float | None = None,
    progress: Progress | None = None,
    chunk: int | None = None,
    confidence: float = 0.95,
    first_rep: int = 0,
    executor: Executor | str | None = None,
) -> ExperimentResult:
    """Run ``reps`` independent replications (numbers ``first_rep`` .. ``first_rep + reps - 1``)
    and collect every KPI.

    Replication ``i`` always uses the streams of replication number ``i``: the numbers do not
    depend on ``chunk``, on the number of workers, or on which other replications ran, so a
    second call with ``first_rep`` continues the first one (see :meth:`ExperimentResult.extend`).

    ``executor``: where the chunks run (``twinsight.scale``: an executor object, kept open, or
    ``"inprocess"``, ``"processes"``, ``"dask"``, ``"auto"``); None runs them here, one chunk
    after the other. The numbers are the same on every executor.
    """
    if reps < 1:
        raise ValueError("reps must be at least 1")
    eng = get_engine(engine)
    h, w = run_window(spec, horizon, warmup)
    names = kpi_names(spec)
    size = chunk or max(1, min(reps, 64))
    results = []
    if executor is not None:
        task = RunTask(spec, seed, eng.name, h, w)
        every = range(first_rep, first_rep + reps)
        results = run_reps(executor, task, every, chunk=chunk, progress=progress)
    for start in range(first_rep, first_rep + reps, size) if executor is None else ():
        ids = list(range(start, min(first_rep + reps, start + size)))
        results += eng.run(spec, seed, ids, horizon=h, warmup=w)
        if progress is not None:
            progress(len(results), reps)
    per_rep = {k: np.array([r.kpis[k] for r in results], dtype=float) for k in names}
    series: dict[str, np.ndarray] = {}
    if results and results[0].series:
        for key in results[0].series:
            series[key] = np.vstack([r.series[key] for r in results])
    return ExperimentResult(
        spec_name=spec.name,
        engine=eng.name,
        seed=seed,
        reps=reps,
        horizon=h,
        warmup=w,
        time_unit=spec.time_unit.value,
        per_rep=per_rep,
        series=series,
        confidence=confidence,
    )
