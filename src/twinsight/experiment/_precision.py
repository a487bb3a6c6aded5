"""Run replications until a KPI's confidence interval is as narrow as asked (sequential rule)."""

from __future__ import annotations

from dataclasses import dataclass

from ..scale import Executor
from ..spec import FlowSpec
from ._runner import ExperimentResult, Progress, run_experiment
from ._stats import replications_needed

__all__ = ["PrecisionTarget", "run_to_precision"]


@dataclass(frozen=True)
class PrecisionTarget:
    """A KPI and the half-width its interval must reach: in the KPI's unit, or a share of its
    mean when ``relative`` (0.05 = 5 %)."""

    kpi: str
    half_width: float
    relative: bool = False

    @classmethod
    def parse(cls, text: str) -> PrecisionTarget:
        """``wait_mean[triage]=0.05`` (absolute) or ``wait_mean[triage]=5%`` (relative)."""
        kpi, sep, value = text.rpartition("=")
        if not sep or not kpi.strip() or not value.strip():
            raise ValueError(f"precision {text!r}: write KPI=HALF_WIDTH, e.g. wait_mean=0.05 or 5%")
        relative = value.strip().endswith("%")
        try:
            number = float(value.strip().rstrip("%"))
        except ValueError:
            raise ValueError(f"precision {text!r}: {value!r} is not a number") from None
        if number <= 0:
            raise ValueError(f"precision {text!r}: the half-width must be positive")
        return cls(kpi.strip(), number / 100.0 if relative else number, relative)

    def met(self, result: ExperimentResult) -> bool:
        """Whether ``result``'s interval of the KPI is at least this narrow."""
        iv = result.interval(self.kpi)
        target = self.half_width * abs(iv.mean) if self.relative else self.half_width
        return iv.n >= 2 and iv.half_width <= target


def run_to_precision(
    spec: FlowSpec,
    target: PrecisionTarget,
    *,
    pilot_reps: int = 10,
    max_reps: int = 1000,
    seed: int = 1,
    engine: str = "fast",
    horizon: float | None = None,
    warmup: float | None = None,
    confidence: float = 0.95,
    progress: Progress | None = None,
    executor: Executor | str | None = None,
) -> tuple[ExperimentResult, bool]:
    """Pilot replications, then as many more as :func:`replications_needed` asks, re-estimating
    the variance each round, until the target holds or ``max_reps`` is reached.

    Returns the experiment (all replications, pilot included: replication numbers continue, so
    nothing is wasted) and whether the target was met. ``executor`` (an open
    :class:`twinsight.scale.Executor` or a name) runs every round's replications; the numbers
    are the same on any executor.
    """
    if pilot_reps < 2:
        raise ValueError("the pilot needs at least 2 replications to estimate a variance")
    if max_reps < pilot_reps:
        raise ValueError(f"max_reps ({max_reps}) must be at least the pilot ({pilot_reps})")

    def batch(reps: int, first: int) -> ExperimentResult:
        return run_experiment(
            spec,
            reps,
            seed,
            engine,
            horizon=horizon,
            warmup=warmup,
            confidence=confidence,
            first_rep=first,
            executor=executor,
        )

    result = batch(pilot_reps, 0)
    if target.kpi not in result.per_rep:
        raise ValueError(f"unknown KPI {target.kpi!r}; see the KPI table for the names")
    if result.interval(target.kpi).n < 2:
        raise ValueError(f"{target.kpi} is undefined in the pilot replications; pick another KPI")
    while not target.met(result) and result.reps < max_reps:
        needed = replications_needed(
            result.per_rep[target.kpi], target.half_width, confidence, relative=target.relative
        )
        more = min(max(needed, result.reps + 1), max_reps) - result.reps
        result = result.extend(batch(more, result.reps))
        if progress is not None:
            progress(result.reps, max(needed, result.reps))
    return result, target.met(result)
