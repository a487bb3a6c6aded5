"""KPI names shared by the engines (see docs/semantics.md, "KPI names")."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..spec import FlowSpec

__all__ = ["RepResult", "kpi_names", "percentile_label", "run_window"]


@dataclass
class RepResult:
    """What one replication produced: scalar KPIs and time series (see docs/semantics.md)."""

    kpis: dict[str, float]
    series: dict[str, np.ndarray] = field(default_factory=dict)


def percentile_label(q: float) -> str:
    """``50.0`` -> ``p50``; ``97.5`` -> ``p97.5``."""
    return f"p{q:g}"


def kpi_names(spec: FlowSpec) -> list[str]:
    """Every scalar KPI name a replication of ``spec`` reports, in a fixed order."""
    qs = [percentile_label(q) for q in spec.kpis.percentiles]
    names: list[str] = []
    for s in spec.station_names():
        names += [f"wait_mean[{s}]"] + [f"wait_{q}[{s}]" for q in qs]
        if spec.wait_target_for(s) is not None:
            names.append(f"wait_within_target[{s}]")
        names += [
            f"queue_mean[{s}]",
            f"in_station_mean[{s}]",
            f"held_mean[{s}]",
            f"served[{s}]",
            f"abandoned[{s}]",
            f"balked[{s}]",
        ]
        if spec.stations[s].on_wait is not None:
            names.append(f"diverted[{s}]")
    for r in spec.resource_names():
        names += [f"utilisation[{r}]", f"in_use_mean[{r}]"]
    for c in spec.class_names():
        names += [f"time_in_system_mean[{c}]"] + [f"time_in_system_{q}[{c}]" for q in qs]
        names += [f"departures[{c}]", f"abandoned[{c}]"]
    names += ["wait_mean"]
    if any(spec.wait_target_for(s) is not None for s in spec.station_names()):
        names.append("wait_within_target")
    names += ["time_in_system_mean"] + [f"time_in_system_{q}" for q in qs]
    names += ["arrivals", "departures", "abandoned", "balked", "throughput", "abandon_share"]
    for j, jr in spec.kpis.journeys.items():
        names += [f"journey_mean[{j}]"] + [f"journey_{q}[{j}]" for q in qs]
        if jr.target is not None:
            names.append(f"journey_within_target[{j}]")
        names.append(f"journey_count[{j}]")
    return names


def run_window(
    spec: FlowSpec, horizon: float | None = None, warmup: float | None = None
) -> tuple[float, float]:
    """The run's (horizon, warmup) in time_unit: the arguments, else the spec's; raises
    ``ValueError`` unless ``0 <= warmup < horizon``."""
    h = float(spec.horizon if horizon is None else horizon)
    w = float(spec.warmup if warmup is None else warmup)
    if not 0.0 <= w < h:
        raise ValueError(f"need 0 <= warmup ({w:g}) < horizon ({h:g})")
    return h, w
