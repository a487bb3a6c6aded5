"""Forecast from the present: replications of the twin's model, summarised as quantile bands.

Each replication starts from the same present state and differs in everything still unknown:
arrivals, destinations, lengths of stay, the remaining stays of present patients, and (when
``rate_cv`` > 0) the level of the arrival rates themselves, drawn once per group of
replications from a gamma distribution with mean 1 (the uncertainty of the calibrated rates and
the day-to-day swings the Poisson model lacks). The bands are quantiles over replications of
the occupancy of each unit in each ``interval``-hour bin: the median and the 50% and 90%
prediction intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from ..assimilate import ED, HospitalState
from ..engines import RepResult, kpi_names, run_window
from ..scale import Executor, Job, JobRunner, RunTask
from ..spec import FlowSpec
from ._model import ED_4H, EXIT, HOME, TIME_TO_BED, HospitalModel, mean_of

__all__ = ["QUANTILES", "Forecast", "forecast"]

#: The quantiles reported: the 90% and 50% central intervals and the median.
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass
class Forecast:
    """Occupancy samples per unit: ``samples[unit]`` has shape (replications, bins); bin ``b``
    covers ``[start + b * interval, start + (b + 1) * interval)`` hours (its time average)."""

    start: datetime
    interval: float
    samples: dict[str, np.ndarray]
    seed: int
    reps: int
    beds: dict[str, int]
    #: Per-replication KPIs of the whole horizon (engine KPI names -> one value per replication).
    per_rep: dict[str, np.ndarray] = field(default_factory=dict)
    #: The flow spec the replications ran (before each group's parameter draws).
    spec: FlowSpec | None = None
    _frame: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    @property
    def units(self) -> list[str]:
        """The units forecast (the ED first)."""
        return list(self.samples)

    @property
    def bins(self) -> int:
        """Number of time bins."""
        return int(next(iter(self.samples.values())).shape[1])

    def times(self) -> list[datetime]:
        """The start instant (UTC) of each bin."""
        return [self.start + timedelta(hours=b * self.interval) for b in range(self.bins)]

    def quantiles(self, unit: str, qs: Sequence[float] = QUANTILES) -> np.ndarray:
        """Array (len(qs), bins) of occupancy quantiles of ``unit``."""
        return np.asarray(np.quantile(self.samples[unit], qs, axis=0), dtype=float)

    def frame(self) -> pd.DataFrame:
        """One row per unit and bin: time, unit, beds, mean, p5, p25, p50, p75, p95 (computed
        once; a copy each call)."""
        if self._frame is None:
            self._frame = self._make_frame()
        return self._frame.copy()

    def _make_frame(self) -> pd.DataFrame:
        rows = []
        times = pd.DatetimeIndex(self.times())
        for unit, values in self.samples.items():
            q = self.quantiles(unit)
            part = pd.DataFrame(
                {
                    "time": times,
                    "unit": unit,
                    "beds": self.beds.get(unit),
                    "mean": values.mean(axis=0),
                    **{f"p{round(100 * p)}": q[i] for i, p in enumerate(QUANTILES)},
                }
            )
            rows.append(part)
        return pd.concat(rows, ignore_index=True)

    def indicators(self) -> pd.DataFrame:
        """The bed manager's indicators over the whole horizon, as predictive bands over
        replications (mean, p5, p50, p95): ED 4-hour performance (share of ED patients who
        arrive in the horizon and leave the ED within 4 h), mean ED time and time to bed
        (hours), boarding hours per day, elective cancellations, discharges from the units and
        ED patients sent home, per day."""
        days = self.bins * self.interval / 24.0
        r = self.per_rep
        units = [u for u in self.samples if u != ED]
        rows: list[tuple[str, str, np.ndarray]] = []

        def add(name: str, unit: str, values: np.ndarray | None) -> None:
            if values is not None:
                rows.append((name, unit, np.asarray(values, dtype=float)))

        add("ED 4-hour performance", "share", r.get(f"journey_within_target[{ED_4H}]"))
        add("ED time, mean", "hours", r.get(f"journey_mean[{ED_4H}]"))
        add("time to bed, mean", "hours", r.get(f"journey_mean[{TIME_TO_BED}]"))
        held, served = r.get(f"held_mean[{ED}]"), r.get(f"served[{ED}]")
        if held is not None and served is not None:
            add("boarding hours per day", "hours/day", np.nan_to_num(held) * served / days)
        balked = [r[f"balked[{u}]"] for u in units if f"balked[{u}]" in r]
        if balked:
            add("elective cancellations", "patients", np.sum(balked, axis=0))
        inpatients = r.get("departures[inpatient]")  # left the hospital from a unit
        if inpatients is not None:
            add("discharges per day", "patients/day", inpatients / days)
        home = r.get(f"departures[{HOME}]")  # sent home from the ED
        if home is not None:
            add("ED patients sent home per day", "patients/day", home / days)
        out = []
        for name, unit, v in rows:
            finite = v[np.isfinite(v)]
            if not len(finite):
                continue
            q = np.quantile(finite, [0.05, 0.5, 0.95])
            out.append({"indicator": name, "unit": unit, "mean": float(finite.mean()),
                        "p5": float(q[0]), "p50": float(q[1]), "p95": float(q[2])})  # fmt: skip
        return pd.DataFrame(out, columns=["indicator", "unit", "mean", "p5", "p50", "p95"])

    def daily(self) -> pd.DataFrame:
        """The bands of the last bin before each whole day from the start (the census around
        the same clock time on days +1, +2, ...): the ``frame()`` columns, ``time`` set to the
        day mark (the bin's end), plus ``day`` and ``bin``."""
        step = round(24 / self.interval)
        picks = [k * step - 1 for k in range(1, self.bins // step + 1)]
        frame = self.frame()
        per_unit = self.bins
        rows = []
        for u in range(len(self.samples)):
            part = frame.iloc[[u * per_unit + b for b in picks]].copy()
            part["day"] = range(1, len(picks) + 1)
            part["bin"] = picks
            part["time"] = [self.start + timedelta(days=k) for k in part["day"]]
            rows.append(part)
        return pd.concat(rows, ignore_index=True)


def forecast(
    model: HospitalModel,
    state: HospitalState,
    days: float = 7.0,
    *,
    reps: int = 1000,
    seed: int = 1,
    interval: float = 1.0,
    rate_cv: float = 0.0,
    groups: int = 20,
    engine: str = "fast",
    pool: bool = True,
    executor: Executor | str | None = None,
    workers: int | None = None,
) -> Forecast:
    """Forecast every unit's occupancy (and the ED's) for ``days`` from ``state``.

    ``rate_cv``: coefficient of variation of the arrival-rate level across the ``groups`` groups
    of replications (0: the calibrated rates exactly); the model's ``los_se`` likewise scales
    each unit's stays per group by a lognormal factor. Same arguments -> the same numbers;
    ``pool``: run the groups of the fast engine side by side on one thread per core (the same
    numbers as one group after the other: replication ``i`` always has the streams of ``i``).
    ``executor``: where the replications run instead (``twinsight.scale``: an executor object,
    kept open, or a name -- ``inprocess``, ``processes``/``dask`` with ``workers`` processes,
    started and stopped here, or ``auto``); each worker receives the spec of its group with the
    present state as warm start (~55 kB pickled for a few hundred present patients). The numbers
    are the same on every executor.
    """
    if reps < 1 or groups < 1:
        raise ValueError("reps and groups must be at least 1")
    if rate_cv < 0:
        raise ValueError("rate_cv must be >= 0")
    uncertain = rate_cv > 0 or any(v > 0 for v in model.los_se.values())
    groups = min(groups, reps) if uncertain else 1
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x7261]))
    factors = [1.0] * groups
    if rate_cv > 0:
        shape = 1.0 / rate_cv**2
        factors = [float(f) for f in rng.gamma(shape, 1.0 / shape, size=groups)]
    los_draws: list[dict[str, float]] = [{} for _ in range(groups)]
    for key, se in sorted(model.los_se.items()):
        if se > 0:
            for g, z in enumerate(rng.standard_normal(groups)):
                los_draws[g][key] = float(np.exp(se * z))
    sizes = [reps // groups + (1 if g < reps % groups else 0) for g in range(groups)]
    keys = [ED, *model.units]
    parts: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    kpis: dict[str, list[np.ndarray]] = {}
    base = model.spec(state, days, interval=interval)
    specs = [model.vary(base, f, los) for f, los in zip(factors, los_draws, strict=True)]
    firsts = [sum(sizes[:g]) for g in range(groups)]
    for series, per_rep in _run_groups(
        specs, sizes, firsts, seed, engine, pool=pool, executor=executor, workers=workers
    ):
        for k in keys:
            parts[k].append(series[f"occupancy[{k}]"])
        for name, values in per_rep.items():
            kpis.setdefault(name, []).append(values)
    samples = {k: np.vstack(v) for k, v in parts.items()}
    _discharge_times(model, state.at, interval, samples)
    beds = {u: m.beds for u, m in model.units.items()}
    per_rep = {k: np.concatenate(v) for k, v in kpis.items()}
    return Forecast(state.at, interval, samples, seed, reps, beds, per_rep, base)


def _discharge_times(
    model: HospitalModel, start: datetime, interval: float, samples: dict[str, np.ndarray]
) -> None:
    """Shift each unit's samples by the census correction for daytime discharges (see
    ``HospitalModel.discharge_offsets``); the flow out of a unit is its mean census over its
    mean length of stay, times the share that leaves the hospital. Units with their own
    ``discharge_hours`` are left alone: the engine already sent their patients home at those
    times of day (correcting them too would count the daily pattern twice)."""
    if model.discharge_shares is None:
        return
    first = start.hour + start.minute / 60.0
    for unit, m in model.units.items():
        if m.discharge_hours is not None:
            continue
        values = samples[unit]
        total = sum(m.next.values())
        exits = m.next.get(EXIT, 0.0) / total if total else 0.0
        daily = float(values.mean()) / mean_of(m.los) * 24.0 * exits
        mids = first + (np.arange(values.shape[1]) + 0.5) * interval
        samples[unit] = np.maximum(values + model.discharge_offsets(mids, daily), 0.0)


Arrays = dict[str, np.ndarray]


def _collect(spec: FlowSpec, results: list[RepResult]) -> tuple[Arrays, Arrays]:
    """(series, per-replication KPIs) of one group's results, in replication order."""
    series = {k: np.vstack([r.series[k] for r in results]) for k in results[0].series}
    per_rep = {k: np.array([r.kpis[k] for r in results], dtype=float) for k in kpi_names(spec)}
    return series, per_rep


def _run_groups(
    specs: list[FlowSpec],
    sizes: list[int],
    firsts: list[int],
    seed: int,
    engine: str,
    *,
    pool: bool,
    executor: Executor | str | None = None,
    workers: int | None = None,
) -> list[tuple[Arrays, Arrays]]:
    """(series, per-replication KPIs) of each group: replications ``first .. first + size - 1``
    of its spec. The groups, cut into chunks, are jobs of ``executor`` (``twinsight.scale``;
    None: in this process, the fast engine's jobs side by side on one thread per core, or one
    after the other without ``pool``)."""
    tasks = [RunTask(spec, seed, engine, *run_window(spec)) for spec in specs]
    ranges = [range(first, first + size) for first, size in zip(firsts, sizes, strict=True)]
    results: list[list[RepResult]] = [[] for _ in tasks]
    if not pool and executor is None:
        for g, task in enumerate(tasks):
            for k in range(0, len(ranges[g]), 64):
                results[g] += task.run(ranges[g][k : k + 64], None)
    else:
        with JobRunner(executor, workers=workers) as runner:
            size = runner.chunk_size(sum(sizes))
            owner = [g for g in range(len(tasks)) for _ in range(0, len(ranges[g]), size)]
            jobs: list[Job] = [(tasks[g], ranges[g][k : k + size]) for g in range(len(tasks))
                               for k in range(0, len(ranges[g]), size)]  # fmt: skip
            for g, part in zip(owner, runner.map(jobs), strict=True):
                results[g] += part
    return [_collect(spec, rs) for spec, rs in zip(specs, results, strict=True)]
