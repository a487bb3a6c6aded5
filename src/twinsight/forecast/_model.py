"""The hospital twin's model: calibrated parameters as a flow-network spec with a warm start.

``HospitalModel`` holds what the forecast needs (ED arrival rates by hour of week, where ED
patients go, ED and unit lengths of stay, routing between units, electives by weekday, beds).
``HospitalModel.spec(state, days)`` writes the flow spec that the engine runs from the present:

- ED arrivals: a Poisson stream with the 168 hour-of-week rates, starting at the state's instant;
  each arrival's class is its destination (``home`` or ``to:<unit>``) drawn from the ED mix, so
  the ED time can differ between patients sent home and patients admitted.
- ``ED``: a station of unlimited space (``ED_space``) that blocks: an admitted patient stays in
  the ED (boarding) until a bed on the unit is free.
- One station per inpatient unit with ``<unit>`` beds (no queue: an elective patient who finds no
  bed is cancelled, ``balked[<unit>]``); the unit's length of stay; routing to ``exit`` or another
  unit (ICU step-down keeps the ICU bed until the ward has one). A unit with ``discharge_hours``
  sends patients home at those times of day (``release_hours`` for ``exit``: the stay ends at a
  clock time drawn from the hourly shares on the day of its natural end, its mean unchanged).
- Electives: a Poisson stream per unit with the weekday means spread over the admission hours.
- The warm start: every present patient in their unit with their elapsed time there (the engine
  draws their remaining stay from the unit's distribution conditioned on that elapsed time); ED
  patients are given destinations in proportion to how likely each is after their time so far.

Times are hours. Unit names are those of the ADT events; ``ED`` is the emergency department.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import numpy as np
from pydantic import TypeAdapter

from ..assimilate import ED, HospitalState
from ..engines._calendar import survivals
from ..spec import Distribution, FlowSpec

__all__ = [
    "EXIT",
    "HOME",
    "HospitalModel",
    "UnitModel",
    "cv_of",
    "mean_of",
    "scaled",
    "survival",
    "survival_curve",
]

#: Routing target for leaving the hospital.
EXIT = "exit"
#: The class of ED patients who go home from the ED.
HOME = "home"
#: Journey KPIs of the model: the ED time (4-hour standard) and the time to a bed.
ED_4H = "ed_4h"
TIME_TO_BED = "time_to_bed"
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DIST: TypeAdapter[Distribution] = TypeAdapter(Distribution)
#: ED capacity in the model: unlimited in effect (the ED never turns anybody away).
_ED_SPACE = 100_000


def _to(unit: str) -> str:
    return f"to:{unit}"


def mean_of(dist: Mapping[str, Any]) -> float:
    """The mean of a flow-spec distribution dict (the families the calibration fits)."""
    if dist["dist"] == "weibull":
        return float(dist["scale"]) * math.gamma(1.0 + 1.0 / float(dist["shape"]))
    return float(dist["mean"])


def scaled(dist: Mapping[str, Any], factor: float) -> dict[str, Any]:
    """``dist`` with every duration multiplied by ``factor`` (a scale change: same shape)."""
    out = dict(dist)
    if factor == 1.0:
        return out
    for key in ("mean", "sd", "scale"):
        if key in out:
            out[key] = float(out[key]) * factor
    return out


def cv_of(dist: Mapping[str, Any]) -> float:
    """Coefficient of variation (sd / mean) of a flow-spec distribution dict."""
    if dist["dist"] == "exponential":
        return 1.0
    if dist["dist"] == "weibull":
        k = float(dist["shape"])
        g1, g2 = math.gamma(1 + 1 / k), math.gamma(1 + 2 / k)
        return math.sqrt(max(g2 - g1 * g1, 0.0)) / g1
    return float(dist["sd"]) / float(dist["mean"])


def survival_curve(dist: Mapping[str, Any], t: np.ndarray | Sequence[float]) -> np.ndarray:
    """P(duration > t) at each ``t`` (hours) for a flow-spec distribution dict: the engine's own
    survival (``engines._calendar.survivals``, the function its warm start conditions on)."""
    sf = survivals(_DIST.validate_python(dict(dist)), np.asarray(t, dtype=float))
    if sf is None:
        raise ValueError(f"no survival function for '{dist['dist']}'")
    return sf


def survival(dist: Mapping[str, Any], t: float) -> float:
    """P(duration > t) for a flow-spec distribution dict (``survival_curve`` at one time)."""
    return float(survival_curve(dist, [t])[0])


@dataclass(frozen=True)
class UnitModel:
    """An inpatient unit: its beds, length of stay (a flow-spec distribution dict, hours) and
    where patients go next (``exit`` or a unit name -> probability).

    ``discharge_hours``: shares of its discharges home by UTC clock hour 0-23; the engine ends
    the stays of patients going home at those times of day (the station's ``release_hours``
    for ``exit``). None: at any hour (the forecast then corrects the census after the fact from
    the model's ``discharge_shares``). ``discharge_anchor``: the release hours' ``anchor``
    (UTC clock hour); None: the hours' own mean clock time, which keeps the mean stay. A
    scenario that moves discharges earlier fixes it at the calibrated pattern's, so the same
    stays end earlier on the same day.
    """

    beds: int
    los: Mapping[str, Any]
    next: Mapping[str, float] = field(default_factory=lambda: {EXIT: 1.0})
    discharge_hours: Sequence[float] | None = None
    discharge_anchor: float | None = None


@dataclass(frozen=True)
class HospitalModel:
    """Everything the forecast simulates (see the module docstring). Rates are per hour."""

    #: ED arrivals per hour, hour of week 0 = Monday 00:00-01:00 UTC.
    ed_rate_per_hour: Sequence[float]
    #: Where ED patients go: ``exit`` (home) or a unit -> probability.
    ed_next: Mapping[str, float]
    #: ED time of patients sent home / of patients admitted (distribution dicts, hours).
    ed_exit_los: Mapping[str, Any]
    ed_admit_los: Mapping[str, Any]
    units: Mapping[str, UnitModel]
    #: Elective admissions per day by unit, Monday..Sunday (means).
    electives: Mapping[str, Sequence[float]] = field(default_factory=dict)
    #: The hours of the day electives arrive in: [from, to) (hours, UTC).
    elective_hours: tuple[int, int] = (7, 10)
    #: Shares of discharges (to ``exit``) by UTC clock hour 0-23; None: no daily pattern. Units
    #: with their own ``discharge_hours`` are simulated with them; for the others the forecast
    #: corrects the census with ``discharge_offsets``.
    discharge_shares: Sequence[float] | None = None
    #: Standard error of the log of each unit's mean length of stay (``ED`` for the ED's): the
    #: calibration's uncertainty, drawn once per group of replications by ``forecast``.
    los_se: Mapping[str, float] = field(default_factory=dict)
    #: Share of discharges lost by the feed (calibrated). A present patient whose discharge was
    #: lost is a ghost: counted in the census, holding no real bed. ``spec`` adds each unit's
    #: expected ghosts to its beds so they do not block real admissions in the model.
    lost_share: float = 0.0

    def __post_init__(self) -> None:
        if len(self.ed_rate_per_hour) != 168:
            raise ValueError("ed_rate_per_hour needs 168 rates (hour of week)")
        for target in self.ed_next:
            if target != EXIT and target not in self.units:
                raise ValueError(f"ED routing names '{target}', which is not a unit of the model")
        for name, unit in self.units.items():
            for target in unit.next:
                if target != EXIT and target not in self.units:
                    raise ValueError(f"unit {name} routes to '{target}', not a unit of the model")
        if ED in self.units:
            raise ValueError(f"'{ED}' is the emergency department, not an inpatient unit")
        for name, unit in self.units.items():
            hours = unit.discharge_hours
            if hours is not None and (len(hours) != 24 or min(hours) < 0 or not sum(hours) > 0):
                raise ValueError(f"unit {name}: discharge_hours needs 24 shares >= 0, not all 0")
            anchor = unit.discharge_anchor
            if anchor is not None and not 0.0 <= anchor < 24.0:
                raise ValueError(f"unit {name}: discharge_anchor is a clock hour in [0, 24)")

    def discharge_offsets(self, clock_hours: np.ndarray, daily_exits: float) -> np.ndarray:
        """The census correction for discharges that happen at the calibrated times of day,
        for units without ``discharge_hours`` (with them the engine times the discharges).

        Without them the engine ends a stay when its length of stay is over, at any hour; real
        discharges bunch in the daytime. With ``F(h)`` the share of a day's discharges before
        clock time ``h`` (calibrated) and ``h / 24`` the share the model discharges by then (its
        stays are spread far wider than a day, so its discharge times are uniform over the day),
        the real census exceeds the model's at ``h`` by ``daily_exits * (h / 24 - F(h))``, less
        that term's daily mean (the mean census is the same: same stays, other hours).
        """
        if self.discharge_shares is None:
            return np.zeros_like(clock_hours, dtype=float)
        shares = np.asarray(self.discharge_shares, dtype=float)
        shares = shares / shares.sum()
        grid = np.arange(0.0, 24.0, 1.0 / 12.0)  # 5-minute steps
        cum = np.concatenate([[0.0], np.cumsum(shares)])

        def gap(h: np.ndarray) -> np.ndarray:
            h = np.mod(h, 24.0)
            whole = np.floor(h).astype(int)
            real = cum[whole] + shares[np.minimum(whole, 23)] * (h - whole)
            return np.asarray(h / 24.0 - real, dtype=float)

        hours = np.asarray(clock_hours, dtype=float)
        return np.asarray(daily_exits * (gap(hours) - gap(grid).mean()), dtype=float)

    def ed_classes(self) -> dict[str, float]:
        """The ED arrival class mix: ``home`` and ``to:<unit>`` -> probability."""
        total = sum(self.ed_next.values())
        mix = {(HOME if k == EXIT else _to(k)): v / total for k, v in self.ed_next.items() if v}
        return mix or {HOME: 1.0}

    def ed_allocation(self, elapsed_hours: Sequence[float]) -> list[str]:
        """Destination classes for ED patients present with these elapsed times (hours).

        The expected number of each destination is the sum over patients of P(class | still in
        the ED after ``elapsed``) (Bayes with the ED-time survival of each outcome); the classes
        are handed out in those proportions (largest remainders), longest-waiting patients
        first to the admitted classes, so the allocation is deterministic.
        """
        mix = self.ed_classes()
        names = list(mix)
        elapsed = np.asarray(elapsed_hours, dtype=float)
        prior = np.asarray([mix[c] for c in names])
        if len(elapsed):
            alive_home = survival_curve(self.ed_exit_los, elapsed)
            alive_admitted = survival_curve(self.ed_admit_los, elapsed)
            post = np.column_stack(
                [mix[c] * (alive_home if c == HOME else alive_admitted) for c in names]
            )
        else:
            post = np.zeros((0, len(names)))
        total = post.sum(axis=1, keepdims=True)
        post = np.where(total > 0, post / np.where(total > 0, total, 1.0), prior)
        expected = post.sum(axis=0)
        counts = np.floor(expected).astype(int)
        for j in np.argsort(-(expected - counts))[: len(elapsed_hours) - int(counts.sum())]:
            counts[j] += 1
        order = np.argsort(-np.asarray(elapsed_hours, dtype=float), kind="stable")
        admitted_first = sorted(range(len(names)), key=lambda j: names[j] == HOME)
        slots = [names[j] for j in admitted_first for _ in range(int(counts[j]))]
        out = [""] * len(elapsed_hours)
        for rank, i in enumerate(order):
            out[int(i)] = slots[rank]
        return out

    def spec(
        self,
        state: HospitalState | None,
        days: float,
        *,
        interval: float = 1.0,
        rate_factor: float = 1.0,
        los_factors: Mapping[str, float] | None = None,
        name: str = "hospital twin",
    ) -> FlowSpec:
        """The flow spec of the next ``days`` from ``state`` (None: an empty hospital at
        Monday 00:00), with occupancy series every ``interval`` hours; ``rate_factor`` scales
        every arrival rate and ``los_factors`` each unit's stays (``ED``: the ED's): a
        scenario, or one draw of the calibration's uncertainty."""
        f = dict(los_factors or {})
        if days <= 0 or interval <= 0:
            raise ValueError("days and interval must be positive")
        start = {"day": "mon", "time": "00:00"}
        if state is not None:
            at = state.at.astimezone(UTC)
            start = {"day": _DAYS[at.weekday()], "time": f"{at.hour:02d}:{at.minute:02d}"}
        units = list(self.units)
        classes: dict[str, Any] = {HOME: {}, "inpatient": {}}
        classes.update({_to(u): {"attributes": {"unit": u}} for u in units})
        resources: dict[str, Any] = {"ED_space": {"capacity": _ED_SPACE}}
        ghosts = self.expected_ghosts(state) if state is not None else {}
        resources.update(
            {f"{u}_beds": {"capacity": self.units[u].beds + ghosts.get(u, 0)} for u in units}
        )
        stations: dict[str, Any] = {
            ED: {
                "resources": {"ED_space": 1},
                "service": scaled(self.ed_exit_los, f.get(ED, 1.0)),
                "service_by_class": {
                    _to(u): scaled(self.ed_admit_los, f.get(ED, 1.0)) for u in units
                },
                "blocking": ["ED_space"],
                "routing_by_class": {
                    HOME: [{"to": EXIT, "p": 1.0}],
                    **{_to(u): [{"to": u, "p": 1.0, "becomes": "inpatient"}] for u in units},
                },
            }
        }
        for u in units:
            m = self.units[u]
            total = sum(m.next.values())
            stations[u] = {
                "resources": {f"{u}_beds": 1},
                "queue_capacity": 0,
                "service": scaled(m.los, f.get(u, 1.0)),
                "blocking": True,
                "routing": [{"to": k, "p": v / total} for k, v in m.next.items() if v > 0],
            }
            if m.discharge_hours is not None and m.next.get(EXIT, 0.0) > 0:
                hours = [float(x) for x in m.discharge_hours]
                release: dict[str, Any] = {"shares": hours, "to": [EXIT]}
                if m.discharge_anchor is not None:
                    release["anchor"] = float(m.discharge_anchor)
                stations[u]["release_hours"] = release
        rates = [max(0.0, r * rate_factor) for r in self.ed_rate_per_hour]
        arrivals: list[dict[str, Any]] = []
        if max(rates) > 0:
            arrivals.append(
                {
                    "name": "ed",
                    "to": ED,
                    "profile": {"hour_of_week": rates},
                    "class": self.ed_classes(),
                }
            )
        lo, hi = self.elective_hours
        for u, per_day in self.electives.items():
            table = [0.0] * 168
            for d in range(7):
                for h in range(lo, hi):
                    table[d * 24 + h] = max(0.0, per_day[d] * rate_factor) / (hi - lo)
            if max(table) > 0:
                arrivals.append(
                    {"name": f"elective:{u}", "to": u, "profile": {"hour_of_week": table},
                     "class": "inpatient"}
                )  # fmt: skip
        initial = self._initial(state) if state is not None else []
        return FlowSpec.model_validate(
            {
                "name": name,
                "time_unit": "hours",
                "horizon": days * 24.0,
                "start": start,
                "classes": classes,
                "resources": resources,
                "stations": stations,
                "arrivals": arrivals,
                "initial_state": initial,
                "kpis": {
                    "interval": interval,
                    "percentiles": [],
                    "journeys": {
                        # arrival at the ED to leaving it (boarding included): the 4-hour standard
                        ED_4H: {"from": ED, "to": ED, "target": 4.0},
                        # end of ED care of an admitted patient to leaving the ED for a bed
                        TIME_TO_BED: {
                            "from": ED,
                            "start": "service_end",
                            "to": ED,
                            "classes": ["inpatient"],
                        },
                    },
                },
            }
        )

    def expected_ghosts(self, state: HospitalState) -> dict[str, int]:
        """Per unit, the expected number of present patients who are ghosts (rounded).

        A patient in unit ``u`` for ``e`` hours is a real stay with prior ``1 - lost`` and
        likelihood ``S_u(e)`` (still there after ``e``), or a ghost with prior ``lost`` and
        likelihood 1: ``P(ghost) = lost / (lost + (1 - lost) S_u(e))``, summed over patients.
        """
        lost = self.lost_share
        if lost <= 0:
            return {}
        out: dict[str, int] = {}
        for name, unit in self.units.items():
            elapsed = [p.in_unit_hours for p in state.patients if p.unit == name]
            if elapsed:
                alive = survival_curve(unit.los, elapsed)
                out[name] = round(float(np.sum(lost / (lost + (1.0 - lost) * alive))))
        return out

    def vary(
        self,
        spec: FlowSpec,
        rate_factor: float = 1.0,
        los_factors: Mapping[str, float] | None = None,
    ) -> FlowSpec:
        """``spec`` (made by ``spec()`` with no factors) with these factors: the same result as
        ``spec(..., rate_factor=, los_factors=)`` without validating the whole spec again
        (which costs ~30 ms with hundreds of present patients; a forecast does it per group)."""
        f = dict(los_factors or {})
        stations = dict(spec.stations)
        for name, station in spec.stations.items():
            factor = f.get(name, 1.0)
            if factor == 1.0:
                continue
            update: dict[str, Any] = {
                "service": _DIST.validate_python(scaled(station.service.model_dump(), factor))
            }
            if station.service_by_class:
                update["service_by_class"] = {
                    c: _DIST.validate_python(scaled(d.model_dump(), factor))
                    for c, d in station.service_by_class.items()
                }
            stations[name] = station.model_copy(update=update)
        arrivals = []
        for arrival in spec.arrivals:
            profile = getattr(arrival, "profile", None)
            if rate_factor != 1.0 and profile is not None and profile.hour_of_week is not None:
                rates = [max(0.0, r * rate_factor) for r in profile.hour_of_week]
                arrival = arrival.model_copy(
                    update={"profile": profile.model_copy(update={"hour_of_week": rates})}
                )
            arrivals.append(arrival)
        return spec.model_copy(update={"stations": stations, "arrivals": arrivals})

    def _initial(self, state: HospitalState) -> list[dict[str, Any]]:
        ed = [p for p in state.patients if p.unit == ED]
        classes = self.ed_allocation([p.in_unit_hours for p in ed])
        groups: list[dict[str, Any]] = []
        for p, c in zip(ed, classes, strict=True):
            groups.append(_group(ED, c, p.in_unit_hours, p.in_hospital_hours))
        for p in state.patients:
            if p.unit != ED and p.unit in self.units:
                groups.append(_group(p.unit, "inpatient", p.in_unit_hours, p.in_hospital_hours))
        return groups


def _group(station: str, cls: str, elapsed: float, in_system: float) -> dict[str, Any]:
    return {
        "station": station,
        "class": cls,
        "status": "in_service",
        "elapsed": max(0.0, elapsed),
        "in_system": max(0.0, elapsed, in_system),
    }
