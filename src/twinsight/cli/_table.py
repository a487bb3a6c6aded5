"""KPI tables: a compact summary (a row per station, resource and class) and the long list
(a row per KPI, grouped by station, resource, class and system)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..engines import percentile_label
from ..experiment import ExperimentResult, Interval
from ..spec import FlowSpec

__all__ = ["KpiRow", "kpi_rows", "kpi_summary", "kpi_table"]

_NAME = re.compile(r"^(?P<base>[^\[]+)(?:\[(?P<arg>.*)\])?$")
_STATION_KPIS = ("wait_", "queue_mean", "in_station_mean", "held_mean", "served", "balked")
_CLASS_KPIS = ("time_in_system_", "departures")
_RESOURCE_KPIS = ("utilisation", "in_use_mean")
_SHARES = {"utilisation", "wait_within_target", "abandon_share", "journey_within_target"}
_LEVELS = {"queue_mean", "in_station_mean", "in_use_mean"}
_COUNTS = {"served", "abandoned", "balked", "departures", "arrivals", "journey_count"}


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
    if arg in spec.kpis.journeys and base.startswith("journey_"):
        return f"journey {arg}"
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
    if base.startswith(("wait_", "time_in_system_", "held_", "journey_")):
        return time_unit
    return ""


def kpi_rows(result: ExperimentResult, spec: FlowSpec) -> list[KpiRow]:
    """Every KPI of ``result`` as a row, grouped (stations, resources, classes, journeys, then
    system)."""
    rows: list[KpiRow] = []
    for name, interval in result.summary().items():
        m = _NAME.match(name)
        base, arg = (m.group("base"), m.group("arg")) if m else (name, None)
        rows.append(
            KpiRow(_group(base, arg, spec), base, name, interval, _unit(base, result.time_unit))
        )
    order = {"station": 0, "resource": 1, "class": 2, "journey": 3, "other": 4, "system": 5}
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


# ----- the compact view: one row per station, resource and class -------------------------------
def _pair(mean: float, half_width: float) -> tuple[str, str]:
    """Mean and half-width rounded to the half-width's precision (two significant digits of
    the half-width): ``0.1955, 0.03267`` -> ``0.196``, ``0.033``."""
    if math.isnan(mean):
        return "–", ""
    if not math.isfinite(half_width):
        return _fmt(mean), "∞"
    if half_width <= 0:
        return _fmt(mean), "0"
    decimals = max(0, 1 - math.floor(math.log10(half_width)))
    return f"{mean:,.{decimals}f}", f"{half_width:,.{decimals}f}"


def _cell(result: ExperimentResult, name: str, share: bool = False) -> str:
    if name not in result.per_rep:
        return ""
    iv = result.interval(name)
    scale = 100.0 if share else 1.0
    mean, hw = _pair(iv.mean * scale, iv.half_width * scale)
    return f"{mean}\n[dim]± {hw}[/]" if hw else mean


def _grid(title: str, first: str, columns: list[str]) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    table.add_column(first, style="cyan", no_wrap=True)
    for col in columns:
        table.add_column(col, justify="right")
    return table


def kpi_summary(result: ExperimentResult, spec: FlowSpec) -> Group:
    """The readable summary: a table each for stations, resources, classes and the system, one
    row per item, each cell the mean over replications with its confidence half-width below."""
    unit = result.time_unit
    q = percentile_label(max(spec.kpis.percentiles)) if spec.kpis.percentiles else None
    pct = round(result.confidence * 100)
    head = Text.from_markup(
        f"[bold]{escape(result.spec_name)}[/]: {result.reps} replication"
        f"{'s' if result.reps != 1 else ''}, seed {result.seed}, engine {result.engine}, horizon "
        f"{result.horizon:g} {unit} (statistics after a warm-up of {result.warmup:g}). Each cell: "
        f"mean over replications, ± the half-width of its {pct}% confidence interval. Waits and "
        f"times in {unit}; counts per run; shares in %. All KPIs: --long or --json."
    )
    stations = _grid(
        "Stations",
        "station",
        ["wait", f"wait {q}" if q else "", "within target %", "queue", "present", "held after",
         "served", "abandoned", "balked"],
    )  # fmt: skip
    for s in spec.station_names():
        stations.add_row(
            s,
            _cell(result, f"wait_mean[{s}]"),
            _cell(result, f"wait_{q}[{s}]") if q else "",
            _cell(result, f"wait_within_target[{s}]", share=True),
            _cell(result, f"queue_mean[{s}]"),
            _cell(result, f"in_station_mean[{s}]"),
            _cell(result, f"held_mean[{s}]"),
            _cell(result, f"served[{s}]"),
            _cell(result, f"abandoned[{s}]"),
            _cell(result, f"balked[{s}]"),
        )
    resources = _grid("Resources", "resource", ["utilisation %", "in use"])
    for r in spec.resource_names():
        resources.add_row(
            r, _cell(result, f"utilisation[{r}]", share=True), _cell(result, f"in_use_mean[{r}]")
        )
    classes = _grid(
        "Classes", "class", ["time in system", f"time in system {q}" if q else "", "departures",
                             "abandoned"],
    )  # fmt: skip
    for c in spec.class_names():
        classes.add_row(
            c,
            _cell(result, f"time_in_system_mean[{c}]"),
            _cell(result, f"time_in_system_{q}[{c}]") if q else "",
            _cell(result, f"departures[{c}]"),
            _cell(result, f"abandoned[{c}]"),
        )
    system = _grid(
        "System",
        "",
        ["arrivals", "departures", f"throughput per {unit.rstrip('s')}", "time in system",
         "wait", "within target %", "abandoned", "balked", "abandon %"],
    )  # fmt: skip
    system.add_row(
        "all",
        _cell(result, "arrivals"),
        _cell(result, "departures"),
        _cell(result, "throughput"),
        _cell(result, "time_in_system_mean"),
        _cell(result, "wait_mean"),
        _cell(result, "wait_within_target", share=True),
        _cell(result, "abandoned"),
        _cell(result, "balked"),
        _cell(result, "abandon_share", share=True),
    )
    parts: list[Text | Table] = [head, stations, resources]
    if len(spec.classes) > 1 or spec.class_names() != ["default"]:
        parts.append(classes)
    if spec.kpis.journeys:
        journeys = _grid(
            "Journeys", "journey", ["time", f"time {q}" if q else "", "within target %", "count"]
        )
        for j in spec.kpis.journeys:
            journeys.add_row(
                j,
                _cell(result, f"journey_mean[{j}]"),
                _cell(result, f"journey_{q}[{j}]") if q else "",
                _cell(result, f"journey_within_target[{j}]", share=True),
                _cell(result, f"journey_count[{j}]"),
            )
        parts.append(journeys)
    parts.append(system)
    return Group(*parts)
