"""The readable KPI table: one row per KPI, grouped by station, resource, class and system."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rich.table import Table

from ..experiment import ExperimentResult, Interval
from ..spec import FlowSpec

__all__ = ["KpiRow", "kpi_rows", "kpi_table"]

_NAME = re.compile(r"^(?P<base>[^\[]+)(?:\[(?P<arg>.*)\])?$")
_STATION_KPIS = ("wait_", "queue_mean", "in_station_mean", "held_mean", "served", "balked")
_CLASS_KPIS = ("time_in_system_", "departures")
_RESOURCE_KPIS = ("utilisation", "in_use_mean")
_SHARES = {"utilisation", "wait_within_target", "abandon_share"}
_LEVELS = {"queue_mean", "in_station_mean", "in_use_mean"}
_COUNTS = {"served", "abandoned", "balked", "departures", "arrivals"}


@dataclass(frozen=True)
class KpiRow:
    """One line of the table: the group it belongs to, the KPI, its interval and unit."""

    group: str
    kpi: str
    name: str
    interval: Interval
    unit: str


def _group(base: str, arg: str | None, spec: FlowSpec) -> str:
    if arg is None:
        return "system"
    if arg in spec.stations and (base.startswith(_STATION_KPIS) or base == "abandoned"):
        return f"station {arg}"
    if arg in spec.resources and base.startswith(_RESOURCE_KPIS):
        return f"resource {arg}"
    if arg in spec.classes and (base.startswith(_CLASS_KPIS) or base == "abandoned"):
        return f"class {arg}"
    return f"other {arg}"


def _unit(base: str, time_unit: str) -> str:
    if base in _SHARES:
        return "%"
    if base in _LEVELS:
        return "number"
    if base in _COUNTS:
        return "per run"
    if base == "throughput":
        return f"per {time_unit.rstrip('s')}"
    if base.startswith(("wait_", "time_in_system_", "held_")):
        return time_unit
    return ""


def kpi_rows(result: ExperimentResult, spec: FlowSpec) -> list[KpiRow]:
    """Every KPI of ``result`` as a row, grouped (stations, resources, classes, then system)."""
    rows: list[KpiRow] = []
    for name, interval in result.summary().items():
        m = _NAME.match(name)
        base, arg = (m.group("base"), m.group("arg")) if m else (name, None)
        rows.append(
            KpiRow(_group(base, arg, spec), base, name, interval, _unit(base, result.time_unit))
        )
    order = {"station": 0, "resource": 1, "class": 2, "other": 3, "system": 4}
    firsts: dict[str, int] = {}
    for i, row in enumerate(rows):
        firsts.setdefault(row.group, i)
    rows.sort(key=lambda r: (order[r.group.split()[0]], firsts[r.group]))
    return rows


def _fmt(x: float, scale: float = 1.0) -> str:
    if math.isnan(x):
        return "–"
    if math.isinf(x):
        return "∞"
    v = x * scale
    if v == 0:
        return "0"
    if abs(v) >= 1e5 or abs(v) < 1e-3:
        return f"{v:.3e}"
    return f"{v:,.4g}" if abs(v) >= 1000 else f"{v:.4g}"


def kpi_table(result: ExperimentResult, spec: FlowSpec) -> Table:
    """A Rich table of every KPI's mean and confidence half-width, grouped, with units."""
    pct = round(result.confidence * 100)
    title = (
        f"{result.spec_name}: {result.reps} replication{'s' if result.reps != 1 else ''}, "
        f"seed {result.seed}, engine {result.engine}, horizon {result.horizon:g} "
        f"{result.time_unit} (warm-up {result.warmup:g})"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("group", style="cyan", no_wrap=True)
    table.add_column("KPI", no_wrap=True)
    table.add_column("mean", justify="right")
    table.add_column(f"± {pct}% CI", justify="right")
    table.add_column("unit", style="dim", no_wrap=True)
    current = None
    for row in kpi_rows(result, spec):
        if current is not None and row.group != current:
            table.add_section()
        scale = 100.0 if row.unit == "%" else 1.0
        label = row.group if row.group != current else ""
        current = row.group
        iv = row.interval
        table.add_row(label, row.kpi, _fmt(iv.mean, scale), _fmt(iv.half_width, scale), row.unit)
    return table
