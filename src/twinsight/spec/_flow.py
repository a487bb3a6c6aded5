"""The flow-network specification: the whole description of a service network."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, PositiveFloat, model_validator

from ._arrivals import Arrival, ClassMix
from ._clock import TimeUnit, parse_day, parse_time_of_day
from ._journeys import journey_reference_errors
from ._network import EXIT, EntityClass, InitialGroup, KpiOptions, Resource, Station

__all__ = ["DEFAULT_CLASS", "REFERENCE_ERRORS", "FlowSpec", "Start"]

DEFAULT_CLASS = "default"
#: Prefix of the message that lists cross-reference problems, one "path: message" per line.
REFERENCE_ERRORS = "spec references:\n"


class Start(BaseModel):
    """The wall-clock instant at model time 0: a weekday and a time of day (HH:MM)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    day: str = "mon"
    time: str = "00:00"

    @model_validator(mode="after")
    def _valid(self) -> Start:
        parse_day(self.day)
        parse_time_of_day(self.time)
        return self

    def minutes_of_week(self) -> float:
        """Minutes after Monday 00:00 of model time 0."""
        return parse_day(self.day) * 1440.0 + parse_time_of_day(self.time)


class FlowSpec(BaseModel):
    """A service network: who arrives, what they need, where they go, and what to measure.

    Every duration is in ``time_unit``; ``horizon`` is the default run length and statistics are
    collected from ``warmup`` on.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    twinsight: Literal[1] = 1
    kind: Literal["flow"] = "flow"
    name: str
    description: str = ""
    time_unit: TimeUnit
    horizon: PositiveFloat
    warmup: NonNegativeFloat = 0.0
    start: Start = Field(default_factory=Start)
    classes: dict[str, EntityClass] = Field(default_factory=lambda: {DEFAULT_CLASS: EntityClass()})
    resources: dict[str, Resource] = Field(default_factory=dict)
    stations: dict[str, Station] = Field(min_length=1)
    arrivals: list[Arrival] = Field(default_factory=list)
    initial_state: list[InitialGroup] = Field(default_factory=list)
    kpis: KpiOptions = Field(default_factory=KpiOptions)

    @model_validator(mode="after")
    def _references(self) -> FlowSpec:
        errors: list[str] = []  # each "dotted.path: message"
        stations, resources, classes = set(self.stations), set(self.resources), set(self.classes)
        if EXIT in stations:
            errors.append(
                f"stations.{EXIT}: '{EXIT}' is reserved for leaving the system; rename that station"
            )
        if self.warmup >= self.horizon:
            errors.append(
                f"warmup: warmup ({self.warmup}) must be shorter than horizon ({self.horizon})"
            )
        names = [a.name for a in self.arrivals]
        if len(set(names)) != len(names):
            errors.append("arrivals: arrival streams need distinct 'name's")
        if not self.arrivals and not self.initial_state:
            errors.append(
                "arrivals: nothing ever enters: add an 'arrivals' stream or an 'initial_state'"
            )

        def check_class(where: str, mix: ClassMix) -> None:
            given = [mix] if isinstance(mix, str) else list(mix)
            for c in given:
                if c not in classes:
                    errors.append(f"{where}: unknown class '{c}'; known: {sorted(classes)}")
            if isinstance(mix, dict) and abs(sum(mix.values()) - 1.0) > 1e-6:
                errors.append(f"{where}: class probabilities sum to {sum(mix.values()):g}, not 1")

        for i, arr in enumerate(self.arrivals):
            if arr.to not in stations:
                errors.append(
                    f"arrivals.{i}.to: unknown station '{arr.to}'; known: {sorted(stations)}"
                )
            check_class(f"arrivals.{i}.class", arr.entity_class)

        for name, st in self.stations.items():
            where = f"stations.{name}"
            options = [("resources", st.resources)] + [
                (f"alternatives.{k}", alt) for k, alt in enumerate(st.alternatives)
            ]
            for label, option in options:
                for res, amount in option.items():
                    if res not in resources:
                        errors.append(
                            f"{where}.{label}.{res}: unknown resource '{res}'; "
                            f"declare it under 'resources' (known: {sorted(resources)})"
                        )
                    elif self.resources[res].max_capacity() < amount and label == "resources":
                        errors.append(
                            f"{where}.{label}.{res}: needs {amount} but the resource never has "
                            f"more than {self.resources[res].max_capacity()}; nobody could ever "
                            "be served (raise its capacity or schedule)"
                        )
            if st.on_wait is not None:
                ow = st.on_wait
                if ow.to == name or ow.to not in stations:
                    errors.append(
                        f"{where}.on_wait.to: '{ow.to}' must be another station "
                        f"(known: {sorted(stations - {name})})"
                    )
                if ow.becomes is not None and ow.becomes not in classes:
                    errors.append(f"{where}.on_wait.becomes: unknown class '{ow.becomes}'")
            if st.release_hours is not None:
                for k, target in enumerate(st.release_hours.to):
                    if target != EXIT and target not in stations:
                        errors.append(
                            f"{where}.release_hours.to.{k}: unknown target '{target}'; "
                            f"use a station name or '{EXIT}'"
                        )
            for field in ("service_by_class", "patience_by_class", "routing_by_class"):
                for c in getattr(st, field):
                    if c not in classes:
                        errors.append(f"{where}.{field}.{c}: unknown class '{c}'")
            tables = [("routing", st.routing)] + [
                (f"routing_by_class.{c}", rows) for c, rows in st.routing_by_class.items()
            ]
            for label, rows in tables:
                for j, row in enumerate(rows):
                    if row.to != EXIT and row.to not in stations:
                        errors.append(
                            f"{where}.{label}.{j}.to: unknown station '{row.to}'; "
                            f"use a station name or '{EXIT}'"
                        )
                    if row.becomes is not None and row.becomes not in classes:
                        errors.append(f"{where}.{label}.{j}.becomes: unknown class '{row.becomes}'")

        for i, grp in enumerate(self.initial_state):
            if grp.station not in stations:
                errors.append(f"initial_state.{i}.station: unknown station '{grp.station}'")
            if grp.entity_class not in classes:
                errors.append(f"initial_state.{i}.class: unknown class '{grp.entity_class}'")
        errors += journey_reference_errors(self.kpis.journeys, stations, classes)
        if errors:
            raise ValueError(REFERENCE_ERRORS + "\n".join(errors))
        return self

    # ----- derived views used by both engines -------------------------------------------------
    def class_names(self) -> list[str]:
        """Class names in a fixed order (the engines' class indices)."""
        return list(self.classes)

    def station_names(self) -> list[str]:
        """Station names in a fixed order (the engines' station indices)."""
        return list(self.stations)

    def resource_names(self) -> list[str]:
        """Resource names in a fixed order (the engines' resource indices)."""
        return list(self.resources)

    def wait_target_for(self, station: str) -> float | None:
        """The wait target (time_unit) that applies at ``station``, if any."""
        return self.stations[station].wait_target or self.kpis.wait_target
