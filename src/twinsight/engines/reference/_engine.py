"""The reference engine: simple, literal and slow; the yardstick of the fast engine."""

from __future__ import annotations

from collections.abc import Sequence

from ...spec import FlowSpec
from .._kpi import RepResult, run_window
from ._network import NetworkRun

__all__ = ["ReferenceEngine"]


class ReferenceEngine:
    """Runs a flow network on SimPy, one :class:`NetworkRun` per replication.

    It reads the pydantic spec directly and keeps every observation in lists, so percentiles
    are exact (NumPy's linear method). It favours clarity over speed.
    """

    name = "reference"

    def run(
        self,
        spec: FlowSpec,
        seed: int,
        reps: Sequence[int],
        *,
        horizon: float | None = None,
        warmup: float | None = None,
    ) -> list[RepResult]:
        """Run replications ``reps`` (their numbers choose their random streams).

        ``horizon`` and ``warmup`` (time_unit) override the spec's. Results come in the order
        of ``reps``; each depends only on (spec, seed, rep number).
        """
        h, w = run_window(spec, horizon, warmup)
        return [NetworkRun(spec, seed, rep, h, w).run() for rep in reps]
