"""Engines: how a flow network behaves. ``fast`` (numba) and ``reference`` (SimPy) mean the same.

An engine runs replications of a :class:`~twinsight.spec.FlowSpec` and returns one
:class:`RepResult` per replication. It does no I/O, plotting or persistence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..spec import FlowSpec
from ._kpi import RepResult, kpi_names, percentile_label, run_window

__all__ = [
    "ENGINE_NAMES",
    "Engine",
    "RepResult",
    "get_engine",
    "kpi_names",
    "percentile_label",
    "run_window",
]

ENGINE_NAMES = ("fast", "reference")


class Engine(Protocol):
    """A simulation engine for flow networks."""

    name: str

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

        ``horizon`` and ``warmup`` (time_unit) override the spec's. Results come in the order of
        ``reps``; each replication's numbers depend only on (spec, seed, rep number).
        """
        ...


def get_engine(name: str) -> Engine:
    """The engine called ``name`` (``fast`` or ``reference``)."""
    if name == "fast":
        from .fast import FastEngine

        return FastEngine()
    if name == "reference":
        from .reference import ReferenceEngine

        return ReferenceEngine()
    raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINE_NAMES)}")
