"""The casework model: social-services referrals as a flow network (time unit: days).

Each referral is one entity of class ``<district>_<priority>``. It passes ``triage`` (a pure
delay: referral to triage), then waits at ``assess_<team>`` for a caseload slot of its team
(resource ``team_<team>``, capacity = workers x caseload per worker), is assessed, may be asked
for more information (``info_<team>``: the client's reply; then ``assess_<team>`` again), and is
decided at ``decide_<team>`` (an instant) and closed after ``close_<team>``.

A case holds **one caseload slot from allocation to closure**. Every station after allocation
needs one slot of the team, and at the first service end the case ``becomes`` its ``_open``
class, whose priority (0) ranks before every new referral (1, 2, ...). Moving on, a case either
starts at once on a free slot or joins the next queue and releases its own slot, which the
dispatcher then hands straight back to it (the best-ranked head); so no new referral can take
the slot of a case in progress (docs/semantics.md, "Queues and the dispatcher").

The statutory deadline is a journey from entering ``triage`` to leaving ``decide_<team>``
(``kpis.journeys``, target ``deadline_days``): one per district and priority (``dl:<d>:<p>``) and
one per team (``team:<t>``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..spec import FlowSpec, validate_dict

__all__ = [
    "CaseworkModel",
    "Team",
    "case_class",
    "district_journey",
    "open_class",
    "station",
    "team_journey",
    "team_resource",
]

Dist = dict[str, Any]


def case_class(district: str, priority: str) -> str:
    """The class of a new referral of ``district`` with ``priority``."""
    return f"{district}_{priority}"


def open_class(district: str, priority: str) -> str:
    """The class of the same case once allocated (it ranks before every new referral)."""
    return f"{district}_{priority}_open"


def station(step: str, team: str) -> str:
    """``assess_<team>``, ``info_<team>``, ``decide_<team>`` or ``close_<team>``."""
    return f"{step}_{team}"


def team_resource(team: str) -> str:
    """The resource of a team's caseload slots."""
    return f"team_{team}"


def district_journey(district: str, priority: str) -> str:
    """The journey (referral to decision) of one district and priority."""
    return f"dl:{district}:{priority}"


def team_journey(team: str) -> str:
    """The journey (referral to decision) of every case of one team."""
    return f"team:{team}"


@dataclass(frozen=True)
class Team:
    """A caseworker team: ``workers`` (people) with at most ``caseload`` open cases each, serving
    ``districts``."""

    workers: int
    caseload: int
    districts: tuple[str, ...]
    #: The share of the slots staffed (absences; the forecast's present), in (0, 1].
    available: float = 1.0

    @property
    def slots(self) -> int:
        """Caseload slots: workers x caseload (x ``available``, rounded, at least 1)."""
        if self.available >= 1.0:
            return self.workers * self.caseload
        return max(1, round(self.workers * self.caseload * self.available))


def _exp(mean: float) -> Dist:
    return {"dist": "exponential", "mean": float(mean)}


@dataclass(frozen=True)
class CaseworkModel:
    """Everything the casework flow spec needs. Durations are flow-spec distribution dicts in
    days; rates are referrals per day.

    - ``teams``: team name -> :class:`Team` (each district served by exactly one team);
    - ``referrals``: district -> 7 daily referral rates, Monday first;
    - ``priority_mix``: district -> priority -> share of its referrals (sums to 1);
    - ``priorities``: the priority labels, most urgent first (its order is the triage rule);
    - ``triage``: referral to triage; ``assessment``: priority -> one assessment pass;
      ``info_wait``: information requested to received; ``closure``: decision to closure;
    - ``rework``: priority -> probability that an assessment pass ends in a request for more
      information (then another pass follows);
    - ``deadline_days``: the statutory time from referral to decision;
    - ``assessment_by_class``, ``rework_by_class``: overrides for particular classes
      (``<district>_<priority>``), where districts differ in complexity.
    """

    teams: Mapping[str, Team]
    referrals: Mapping[str, Sequence[float]]
    priority_mix: Mapping[str, Mapping[str, float]]
    priorities: tuple[str, ...]
    triage: Dist = field(default_factory=lambda: _exp(1.0))
    assessment: Mapping[str, Dist] = field(default_factory=dict)
    info_wait: Dist = field(default_factory=lambda: _exp(7.0))
    closure: Dist = field(default_factory=lambda: _exp(3.0))
    rework: Mapping[str, float] = field(default_factory=dict)
    deadline_days: float = 28.0
    #: Per class (``<district>_<priority>``) overrides of ``assessment`` and ``rework``:
    #: districts differ in complexity.
    assessment_by_class: Mapping[str, Dist] = field(default_factory=dict)
    rework_by_class: Mapping[str, float] = field(default_factory=dict)
    #: What the "districts" are: ``district`` (teams serve areas) or ``group`` (teams serve
    #: client groups: children, adults, ...); it names the class attribute and the KPI keys.
    segment: str = "district"

    def __post_init__(self) -> None:
        served = [d for t in self.teams.values() for d in t.districts]
        if sorted(served) != sorted(set(served)) or set(served) != set(self.referrals):
            raise ValueError(
                "every district with referrals must be served by exactly one team "
                f"(districts {sorted(self.referrals)}, served {sorted(served)})"
            )
        for d, rates in self.referrals.items():
            if len(rates) != 7 or min(rates) < 0:
                raise ValueError(f"referrals of '{d}': give 7 daily rates >= 0, Monday first")
        for d, mix in self.priority_mix.items():
            if set(mix) - set(self.priorities) or abs(sum(mix.values()) - 1.0) > 1e-6:
                raise ValueError(f"priority_mix of '{d}' must share 1 over {self.priorities}")
        missing = set(self.priorities) - set(self.assessment)
        if missing:
            raise ValueError(f"no assessment time for priorities {sorted(missing)}")
        shares = [
            *(self.rework.get(p, 0.0) for p in self.priorities),
            *self.rework_by_class.values(),
        ]
        if any(not 0 <= r < 1 for r in shares):
            raise ValueError("rework probabilities must be in [0, 1)")
        if not self.deadline_days > 0:
            raise ValueError("deadline_days must be positive")

    @property
    def districts(self) -> list[str]:
        """The districts, in the order given."""
        return list(self.referrals)

    def team_of(self, district: str) -> str:
        """The team that serves ``district``."""
        return next(t for t, team in self.teams.items() if district in team.districts)

    def referral_rate(self) -> float:
        """Mean referrals per day over a week, every district."""
        return float(sum(sum(r) for r in self.referrals.values()) / 7.0)

    def classes(self) -> list[tuple[str, str]]:
        """(district, priority) of every referral class, in spec order."""
        return [(d, p) for d in self.districts for p in self.priorities]

    # -- the flow spec -------------------------------------------------------------------------

    def spec_dict(
        self,
        horizon: float,
        *,
        warmup: float = 0.0,
        start_day: str = "mon",
        start_time: str = "00:00",
        initial_state: Sequence[dict[str, Any]] = (),
        interval: float | None = None,
        name: str = "casework",
    ) -> dict[str, Any]:
        """The flow spec as a plain dict (``horizon`` and ``warmup`` in days)."""
        classes: dict[str, Any] = {}
        for rank, p in enumerate(self.priorities, start=1):
            for d in self.districts:
                attrs = {self.segment: d, "priority": p, "team": self.team_of(d)}
                classes[case_class(d, p)] = {"priority": rank, "attributes": {**attrs}}
                attrs["phase"] = "open"
                classes[open_class(d, p)] = {"priority": 0, "attributes": attrs}
        resources = {team_resource(t): {"capacity": team.slots} for t, team in self.teams.items()}
        triage_routes: dict[str, list[dict[str, Any]]] = {}
        for d, p in self.classes():
            triage_routes[case_class(d, p)] = [{"to": station("assess", self.team_of(d)), "p": 1.0}]
        stations: dict[str, Any] = {
            "triage": {"service": dict(self.triage), "routing_by_class": triage_routes}
        }
        for t in self.teams:
            slot = {team_resource(t): 1}
            by_class: dict[str, list[dict[str, Any]]] = {}
            service: dict[str, Dist] = {}
            for d, p in self.classes():
                if self.team_of(d) != t:
                    continue
                cc = case_class(d, p)
                r = float(self.rework_by_class.get(cc, self.rework.get(p, 0.0)))
                assess = dict(self.assessment_by_class.get(cc, self.assessment[p]))
                for cls, becomes in (
                    (case_class(d, p), open_class(d, p)),
                    (open_class(d, p), None),
                ):
                    pairs = [(station("info", t), r), (station("decide", t), 1.0 - r)]
                    rows: list[dict[str, Any]] = [{"to": to, "p": q} for to, q in pairs if q > 0]
                    if becomes:
                        rows = [{**row, "becomes": becomes} for row in rows]
                    by_class[cls] = rows
                    service[cls] = assess
            first = next(iter(service.values()))
            stations[station("assess", t)] = {
                "resources": slot,
                "service": first,
                "service_by_class": service,
                "routing_by_class": by_class,
            }
            back = [{"to": station("assess", t), "p": 1.0}]
            stations[station("info", t)] = {
                "resources": slot, "service": dict(self.info_wait), "routing": back
            }  # fmt: skip
            stations[station("decide", t)] = {
                "resources": slot,
                "service": {"dist": "fixed", "value": 0.0},
                "routing": [{"to": station("close", t), "p": 1.0}],
            }
            stations[station("close", t)] = {"resources": slot, "service": dict(self.closure)}
        arrivals = []
        for d in self.districts:
            mix = {case_class(d, p): s for p, s in self.priority_mix[d].items() if s > 0}
            table = [float(self.referrals[d][h // 24]) for h in range(168)]
            if max(table) <= 0:
                continue
            arrivals.append(
                {
                    "name": f"referrals_{d}",
                    "to": "triage",
                    "profile": {"per": "days", "hour_of_week": table},
                    "class": mix if len(mix) > 1 else next(iter(mix)),
                }
            )
        journeys: dict[str, Any] = {}
        for d, p in self.classes():
            journeys[district_journey(d, p)] = {
                "from": "triage",
                "to": station("decide", self.team_of(d)),
                "classes": [case_class(d, p)],
                "target": self.deadline_days,
            }
        for t in self.teams:
            journeys[team_journey(t)] = {
                "from": "triage",
                "to": station("decide", t),
                "target": self.deadline_days,
            }
        kpis: dict[str, Any] = {"journeys": journeys, "percentiles": [50, 90]}
        if interval is not None:
            kpis["interval"] = interval
        out: dict[str, Any] = {
            "twinsight": 1,
            "name": name,
            "description": "social-services casework: referrals, triage, caseload slots, "
            "assessment with requests for information, decision and closure",
            "time_unit": "days",
            "horizon": float(horizon),
            "warmup": float(warmup),
            "start": {"day": start_day, "time": start_time},
            "classes": classes,
            "resources": resources,
            "stations": stations,
            "arrivals": arrivals,
            "kpis": kpis,
        }
        if initial_state:
            out["initial_state"] = list(initial_state)
        return out

    def spec(self, horizon: float, **options: Any) -> FlowSpec:
        """The validated flow spec (see :meth:`spec_dict`)."""
        return validate_dict(self.spec_dict(horizon, **options), options.get("name", "casework"))

    # -- KPIs of a run -------------------------------------------------------------------------

    def kpis(self, per_rep: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Casework KPIs per replication from the engine's KPIs: ``backlog`` (mean open cases),
        ``decided`` (every decision in the window, warm-start cases included),
        ``allocation_wait`` (mean cases waiting for a slot), ``time_to_decision`` (days, mean),
        ``within_deadline`` (share), ``decisions``; ``caseload_per_worker[<team>]``; and the last
        three by ``[team=<t>]``, ``[district=<d>]`` (``[group=<g>]`` when the segment is the
        client group) and ``[priority=<p>]``."""
        names = [
            "triage",
            *[station(s, t) for t in self.teams for s in ("assess", "info", "decide", "close")],
        ]
        out: dict[str, np.ndarray] = {
            "backlog": np.sum([per_rep[f"in_station_mean[{s}]"] for s in names], axis=0),
            "decided": np.sum(
                [per_rep[f"served[{station('decide', t)}]"] for t in self.teams], axis=0
            ),
            "allocation_wait": np.sum(
                [per_rep[f"queue_mean[{station('assess', t)}]"] for t in self.teams], axis=0
            ),
        }
        groups: dict[str, list[str]] = {"": [district_journey(d, p) for d, p in self.classes()]}
        for d in self.districts:
            groups[f"{self.segment}={d}"] = [district_journey(d, p) for p in self.priorities]
        for p in self.priorities:
            groups[f"priority={p}"] = [district_journey(d, p) for d in self.districts]
        for t, team in self.teams.items():
            out[f"caseload_per_worker[{t}]"] = (
                per_rep[f"in_use_mean[{team_resource(t)}]"] / team.workers
            )
            groups[f"team={t}"] = [team_journey(t)]
        for key, journeys in groups.items():
            count = np.sum([per_rep[f"journey_count[{j}]"] for j in journeys], axis=0)
            within = np.sum(
                [
                    np.nan_to_num(per_rep[f"journey_within_target[{j}]"])
                    * per_rep[f"journey_count[{j}]"]
                    for j in journeys
                ],
                axis=0,
            )
            total = np.sum(
                [
                    np.nan_to_num(per_rep[f"journey_mean[{j}]"]) * per_rep[f"journey_count[{j}]"]
                    for j in journeys
                ],
                axis=0,
            )
            with np.errstate(invalid="ignore", divide="ignore"):
                share, mean = within / count, total / count
            suffix = f"[{key}]" if key else ""
            out[f"decisions{suffix}"] = count
            out[f"within_deadline{suffix}"] = np.where(count > 0, share, math.nan)
            out[f"time_to_decision{suffix}"] = np.where(count > 0, mean, math.nan)
        return out
