"""The contact-centre twin's settings and its flow specs (time unit: minutes).

Settings live under ``contact:`` in the twin's ``twin.yaml`` (all optional)::

    contact:
      interval_minutes: 30                        # 15 or 30 (or 60)
      service_level: {seconds: 20, target: 0.8}   # 80/20: answered within 20 s
      max_abandon: 0.05                           # share of offered calls
      shrinkage: 0.30                             # breaks, training, absence
      callback_share: 0.0                         # callers who take a callback when offered
      callback_offer: {after_seconds: 60, accept: 0.3}  # optional: offered after a wait
      agent_groups:                               # optional: multi-skilled agents
        generalists: {skills: [billing, tech], agents: 2}
      window_days: 56
      roster: roster.csv                          # optional: agents rostered per interval

How the flow engine expresses a contact centre:

- **Skills-based routing**: each queue (skill) is a class and a station; its dedicated agents
  are a resource ``agents_<queue>``. An agent group with several skills (``agent_groups``) is
  one resource ``group_<name>`` listed as an overflow ``alternative`` by each of its skills'
  stations: a call takes a free agent of its own skill first, else a free agent of the groups
  in the order written. When an agent frees and several calls wait, the dispatcher starts the
  best-ranked one it can serve (class priority, then longest wait; docs/semantics.md).
- **Callbacks**: every call enters at a routing point ``<queue>_entry`` (no resources, no
  time), which sends a share of callers (class ``<queue>_callback``) to the station
  ``<queue>_callback`` (offered at entry, ``callback_share``). With ``callback_offer`` a caller
  still waiting after ``after_seconds`` is offered a callback and takes it with probability
  ``accept`` (the station's ``on_wait``): it leaves the queue (counted in ``diverted``). The
  callback station uses the same agents at a lower priority: the dispatcher serves a callback
  only when no inbound call those agents can take waits (the callback is made in idle time);
  callback customers do not abandon.
- **Shrinkage**: rostered agents x (1 - shrinkage), rounded down, is the resource's schedule.
- **Arrivals**: the calibrated calls per interval, as an hourly profile of the week (the spec's
  profiles are hourly: a 30-minute pattern within an hour is averaged).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..spec import FlowSpec, validate_dict
from ._calibrate import WEEKDAYS, ContactCalibration

__all__ = [
    "AgentGroup",
    "CallbackOffer",
    "ContactModel",
    "ContactSettings",
    "ServiceLevel",
    "scale_dist",
]

#: The key prefix of an agent group in a staffing plan, a roster and ``week_spec``'s agents.
GROUP = "group:"


class ServiceLevel(BaseModel):
    """The service-level target: ``target`` of answered calls within ``seconds``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    seconds: float = Field(default=20.0, gt=0)
    target: float = Field(default=0.8, gt=0, lt=1)


class CallbackOffer(BaseModel):
    """A callback offered to a caller still waiting after ``after_seconds``, taken with
    probability ``accept``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    after_seconds: float = Field(default=60.0, gt=0)
    accept: float = Field(default=0.3, ge=0, le=1)


class AgentGroup(BaseModel):
    """Multi-skilled agents: ``agents`` productive agents in every interval who take calls of
    any of ``skills`` (queues) when that queue's own agents are all busy (overflow)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    skills: list[str] = Field(min_length=1)
    agents: int = Field(ge=0)


class ContactSettings(BaseModel):
    """The ``contact:`` block of twin.yaml (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    interval_minutes: int = Field(default=30)
    service_level: ServiceLevel = ServiceLevel()
    max_abandon: float = Field(default=0.05, gt=0, le=1)
    shrinkage: float = Field(default=0.30, ge=0, lt=1)
    callback_share: float = Field(default=0.0, ge=0, lt=1)
    callback_offer: CallbackOffer | None = None
    agent_groups: dict[str, AgentGroup] = Field(default_factory=dict)
    window_days: float = Field(default=56.0, gt=0)
    roster: str | None = None


def scale_dist(dist: dict[str, Any], factor: float) -> dict[str, Any]:
    """A duration distribution (flow-spec dict) with every duration multiplied by ``factor``
    (same shape: lognormal/gamma mean and sd, Weibull scale, exponential mean)."""
    out = dict(dist)
    for key in ("mean", "sd", "scale", "value", "min", "max", "mode"):
        if key in out and not (key == "min" and out.get("dist") == "normal"):
            out[key] = float(out[key]) * factor
    if "values" in out:
        out["values"] = [float(v) * factor for v in out["values"]]
    return out


@dataclass
class ContactModel:
    """The calibrated contact centre with its settings; ``handle_factor`` per queue (1: as
    calibrated) and ``callback_share`` are what scenarios change."""

    calibration: ContactCalibration
    settings: ContactSettings
    handle_factor: dict[str, float] = field(default_factory=dict)

    @property
    def queues(self) -> list[str]:
        """The queues (skills)."""
        return self.calibration.queues

    @property
    def slots(self) -> int:
        """Intervals per day."""
        return 1440 // self.calibration.interval_minutes

    def handle(self, queue: str) -> dict[str, Any]:
        """Handle-time distribution of ``queue`` (minutes), with its factor."""
        return scale_dist(self.calibration.handle[queue].spec_, self.handle_factor.get(queue, 1.0))

    def handle_mean(self, queue: str) -> float:
        """Mean handle time of ``queue``, minutes."""
        return self.calibration.handle[queue].mean_ * self.handle_factor.get(queue, 1.0)

    def patience(self, queue: str) -> dict[str, Any] | None:
        """Patience distribution of ``queue`` (minutes), or None when nobody abandoned."""
        p = self.calibration.patience[queue]
        return None if p is None else dict(p.spec_)

    def patience_mean(self, queue: str) -> float | None:
        """Mean patience, minutes (None: nobody abandoned) of the chosen family."""
        p = self.calibration.patience[queue]
        return None if p is None else p.mean_

    def erlang_patience(self, queue: str) -> float | None:
        """The mean patience Erlang A uses, minutes: the censored maximum-likelihood fit of an
        exponential (abandonments over the total time callers spent waiting), which matches
        the abandonment hazard where the waits are; the chosen family's mean extrapolates
        beyond the longest waits seen (None: nobody abandoned)."""
        p = self.calibration.patience[queue]
        if p is None:
            return None
        exp = p.fits_.get("exponential")
        return float(exp["scale"]) if exp else p.mean_

    def rates(self, queue: str, weekday: str) -> list[float]:
        """Expected calls per interval of ``queue`` on ``weekday``."""
        return [float(x) for x in self.calibration.arrivals.rates(queue, weekday)]

    def groups_for(self, queue: str) -> list[str]:
        """The agent groups that have ``queue``'s skill, in the order written."""
        return [g for g, grp in self.settings.agent_groups.items() if queue in grp.skills]

    def simulation_needed(self, queue: str) -> bool:
        """Whether ``queue`` has features Erlang C/A does not cover: a callback offer or
        callbacks at entry, or agents shared with other skills."""
        offer = self.settings.callback_offer
        return (
            self.settings.callback_share > 0
            or (offer is not None and offer.accept > 0)
            or bool(self.groups_for(queue))
        )

    def _served_by(self, queue: str, resource: str) -> dict[str, Any]:
        out: dict[str, Any] = {"resources": {resource: 1}}
        groups = self.groups_for(queue)
        if groups:
            out["alternatives"] = [{f"group_{g}": 1} for g in groups]
        return out

    def _station(self, queue: str, resource: str) -> dict[str, Any]:
        st: dict[str, Any] = {
            **self._served_by(queue, resource),
            "service": self.handle(queue),
            "wait_target": self.settings.service_level.seconds / 60.0,
        }
        p = self.patience(queue)
        if p is not None:
            st["patience_by_class"] = {queue: p}
        offer = self.settings.callback_offer
        if offer is not None:
            cb = f"{queue}_callback"
            st["on_wait"] = {"after": offer.after_seconds / 60.0, "p": offer.accept, "to": cb}
            st["on_wait"]["becomes"] = cb
        return st

    def _group_resources(
        self,
        data: dict[str, Any],
        queue: str | None = None,
        schedules: dict[str, list[int]] | None = None,
    ) -> None:
        """Declare the agent groups' resources: all of them for the whole centre (each at its
        fixed ``agents``, or by its weekly schedule in ``schedules[group]`` when given: 7 x
        slots productive agents, Monday first), or only the groups of ``queue`` for its
        interval spec, each with an even share of the group (floor(agents / skills), at least
        1: the other skills take the rest)."""
        for g, grp in self.settings.agent_groups.items():
            unknown = [q for q in grp.skills if q not in self.queues]
            if unknown:
                raise ValueError(
                    f"contact.agent_groups.{g}.skills: no queue {', '.join(unknown)} "
                    f"(queues: {', '.join(self.queues)})"
                )
            if queue is None and schedules and g in schedules:
                data["resources"][f"group_{g}"] = self._weekly(schedules[g], f"group '{g}'")
            elif queue is None:
                data["resources"][f"group_{g}"] = {"capacity": grp.agents}
            elif queue in grp.skills:
                n = max(1, grp.agents // len(grp.skills))
                data["resources"][f"group_{g}"] = {"capacity": n}

    def _queue_parts(
        self, queue: str, resource: str, arrival: dict[str, Any], data: dict[str, Any]
    ) -> None:
        cb = f"{queue}_callback"
        share = self.settings.callback_share
        data["classes"][queue] = {"priority": 0}
        data["classes"][cb] = {"priority": 1}
        data["stations"][f"{queue}_entry"] = {
            "service": {"dist": "fixed", "value": 0.0},
            "routing_by_class": {queue: [{"to": queue, "p": 1.0}], cb: [{"to": cb, "p": 1.0}]},
        }
        data["stations"][queue] = self._station(queue, resource)
        data["stations"][cb] = {**self._served_by(queue, resource), "service": self.handle(queue)}
        mix = {queue: 1.0 - share, cb: share}
        data["arrivals"].append({"name": queue, "to": f"{queue}_entry", "class": mix, **arrival})

    def interval_spec(
        self,
        queue: str,
        calls: float,
        agents: int,
        *,
        horizon: float = 600.0,
        warmup: float = 60.0,
    ) -> FlowSpec:
        """One interval in steady state: ``calls`` per interval (a constant rate) to ``queue``
        served by ``agents`` (resource ``agents``); minutes."""
        data: dict[str, Any] = {
            "name": f"{queue}: {calls:.1f} calls per {self.calibration.interval_minutes} min",
            "time_unit": "minutes",
            "horizon": horizon,
            "warmup": warmup,
            "classes": {},
            "resources": {"agents": {"capacity": int(agents)}},
            "stations": {},
            "arrivals": [],
        }
        rate = max(calls, 1e-9) / self.calibration.interval_minutes
        self._group_resources(data, queue)
        self._queue_parts(queue, "agents", {"rate": rate}, data)
        return validate_dict(data, "contact interval")

    def _weekly(self, plan: list[int], what: str) -> dict[str, Any]:
        """A resource with ``plan`` (7 x slots agents, Monday first) as a weekly schedule."""
        if len(plan) != 7 * self.slots:
            raise ValueError(f"the agents of {what} have {len(plan)} values, not {7 * self.slots}")
        step = self.calibration.interval_minutes
        steps, last = [], None
        for i, n in enumerate(plan):
            if n != last:
                m = (i % self.slots) * step
                at = f"{WEEKDAYS[i // self.slots]} {m // 60:02d}:{m % 60:02d}"
                steps.append({"at": at, "capacity": int(n)})
                last = n
        if max(plan) < 1:
            steps = [{"at": "mon 00:00", "capacity": 1}]
        return {"schedule": {"repeat": "week", "steps": steps}}

    def week_spec(
        self,
        agents: dict[str, list[int]],
        days: float,
        *,
        start_day: str = "mon",
    ) -> FlowSpec:
        """The time-varying centre for ``days`` from ``start_day`` 00:00: hourly arrival
        profiles of the week and, per queue, ``agents[queue]`` productive agents in each
        interval of the week (7 x slots values, Monday first) as a weekly schedule; an agent
        group by ``agents["group:<name>"]`` in the same layout when given (a joint staffing
        plan or a roster), else at its fixed ``agents``."""
        data: dict[str, Any] = {
            "name": "contact centre",
            "time_unit": "minutes",
            "horizon": days * 1440.0,
            "start": {"day": start_day},
            "classes": {},
            "resources": {},
            "stations": {},
            "arrivals": [],
        }
        groups = {k[len(GROUP) :]: v for k, v in agents.items() if k.startswith(GROUP)}
        self._group_resources(data, schedules=groups)
        for q in self.queues:
            resource = f"agents_{q}"
            data["resources"][resource] = self._weekly(agents[q], f"queue '{q}'")
            profile = {"per": "hours", "hour_of_week": self.calibration.arrivals.hour_of_week(q)}
            self._queue_parts(q, resource, {"profile": profile}, data)
        return validate_dict(data, "contact centre")

    def rostered(self, productive: int) -> int:
        """Agents to roster so that ``productive`` remain after shrinkage."""
        return math.ceil(productive / (1.0 - self.settings.shrinkage) - 1e-9)

    def productive(self, rostered: int) -> int:
        """Agents available from ``rostered`` after shrinkage (rounded down)."""
        return math.floor(rostered * (1.0 - self.settings.shrinkage) + 1e-9)

    def satisfaction(self, wait_minutes: float, queue: str) -> float:
        """Predicted mean score at a mean wait of the answered (minutes) in ``queue``; NaN
        without a satisfaction model."""
        s = self.calibration.satisfaction
        return math.nan if s is None else s.predict(wait_minutes, self.handle_mean(queue))
