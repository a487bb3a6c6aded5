"""The replications of a comparison: every variant's, batch by batch, on an executor.

Each batch (``_Runner.run``) is a list of jobs -- one variant and a chunk of replication
numbers -- given to a :class:`twinsight.scale.JobRunner`: in this process (the fast engine on
one thread per core), on a local process pool, or on a Dask cluster. Replication ``i`` of a
variant always draws from the streams of ``i`` (and, with the calibration's uncertainty, from
the draw of ``(seed, i)``), so the numbers are the same on every executor and whatever the
chunking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..engines import RepResult, kpi_names, run_window
from ..forecast import HospitalModel
from ..scale import Executor, Job, JobRunner, RunTask
from ..spec import FlowSpec

__all__ = ["VariantTask"]


@dataclass
class _Runs:
    """Per-replication engine KPIs and series of one variant, in replication order."""

    per_rep: dict[str, list[float]] = field(default_factory=dict)
    series: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, results: list[RepResult], names: list[str]) -> None:
        for r in results:
            for k in names:
                self.per_rep.setdefault(k, []).append(float(r.kpis[k]))
            for k, v in r.series.items():
                if k.startswith("occupancy["):
                    self.series.setdefault(k, []).append(np.asarray(v, dtype=float))


def draw(
    model: HospitalModel, seed: int, rep: int, rate_cv: float
) -> tuple[float, dict[str, float]]:
    """Replication ``rep``'s draw of the calibration's uncertainty: an arrival-level factor
    (gamma, mean 1, CV ``rate_cv``) and a factor per unit's stays (lognormal with the
    calibration's standard error); the same in every variant."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x7261, rep]))
    factor = 1.0
    if rate_cv > 0:
        shape = 1.0 / rate_cv**2
        factor = float(rng.gamma(shape, 1.0 / shape))
    los = {k: float(np.exp(se * rng.standard_normal())) for k, se in sorted(model.los_se.items())
           if se > 0}  # fmt: skip
    return factor, los


@dataclass(frozen=True)
class VariantTask:
    """A hospital variant whose replications each draw the calibration's uncertainty (its own
    spec per replication: ``model.vary`` of ``spec`` with the draw of ``(seed, i)``). Picklable:
    what a process pool or Dask worker receives (the spec with its warm start, ~55 kB for a few
    hundred present patients, and the model, ~3 kB)."""

    spec: FlowSpec
    model: HospitalModel
    seed: int
    engine: str
    rate_cv: float

    def run(self, reps: Sequence[int], threads: int | None = None) -> list[RepResult]:
        """Replications ``reps``, each on its own varied spec, in order."""
        h, w = run_window(self.spec)
        out: list[RepResult] = []
        for i in reps:
            factor, los = draw(self.model, self.seed, i, self.rate_cv)
            task = RunTask(self.model.vary(self.spec, factor, los), self.seed, self.engine, h, w)
            out += task.run([i], threads)
        return out


class _Runner:
    """Runs replication numbers of every variant (each with its own draw of the parameters on a
    hospital twin when ``rate_cv`` or the model's ``los_se`` say so), batch by batch on
    ``executor`` (see :class:`twinsight.scale.JobRunner`; None: in this process)."""

    def __init__(
        self,
        variants: Sequence[tuple[FlowSpec, HospitalModel | None]],
        seed: int,
        engine: str,
        rate_cv: float,
        executor: Executor | str | None = None,
        workers: int | None = None,
    ) -> None:
        model = variants[0][1]
        uncertain = model is not None and (rate_cv > 0 or any(v > 0 for v in model.los_se.values()))
        self.tasks: list[RunTask | VariantTask] = []
        for spec, m in variants:
            if uncertain and m is not None:
                self.tasks.append(VariantTask(spec, m, seed, engine, rate_cv))
            else:
                self.tasks.append(RunTask(spec, seed, engine, *run_window(spec)))
        self.names = [kpi_names(spec) for spec, _ in variants]
        self.runs = [_Runs() for _ in variants]
        self.reps = 0
        self.jobs = JobRunner(executor, workers=workers)

    def run(self, count: int) -> None:
        """Add replications ``reps .. reps + count - 1`` of every variant (all or nothing: a
        batch that fails or is interrupted adds none)."""
        ids = list(range(self.reps, self.reps + count))
        size = max(1, min(self.jobs.chunk_size(len(ids) * len(self.tasks)), len(ids)))
        owner = [vi for vi in range(len(self.tasks)) for _ in range(0, len(ids), size)]
        jobs: list[Job] = [(self.tasks[vi], ids[k : k + size]) for vi in range(len(self.tasks))
                           for k in range(0, len(ids), size)]  # fmt: skip
        per_variant: list[list[RepResult]] = [[] for _ in self.tasks]
        for vi, results in zip(owner, self.jobs.map(jobs), strict=True):
            per_variant[vi] += results
        for vi, results in enumerate(per_variant):
            self.runs[vi].add(results, self.names[vi])
        self.reps += count

    def close(self) -> None:
        """Stop an executor started for this comparison."""
        self.jobs.close()
