"""The twin specification: what a system is, validated and exported as JSON Schema.

A flow-network spec can be written in YAML (:func:`load_spec`) or built in Python
(``FlowSpec(...)`` or :func:`validate_dict`).
"""

from __future__ import annotations

import json
from typing import Any

from ._arrivals import (
    Arrival,
    DatedRates,
    PoissonArrivals,
    RateProfile,
    ScheduledArrivals,
    ScheduledSlot,
)
from ._clock import DAYS, MINUTES_PER_DAY, MINUTES_PER_WEEK, TimeUnit, parse_day, parse_time_of_day
from ._distributions import (
    BatchSize,
    Distribution,
    Empirical,
    Exponential,
    Fixed,
    Gamma,
    Lognormal,
    Normal,
    Triangular,
    Uniform,
    Weibull,
    gamma_params,
    lognormal_params,
)
from ._flow import DEFAULT_CLASS, FlowSpec, Start
from ._loader import Problem, SpecError, apply_overrides, load_spec, parse_spec, validate_dict
from ._network import (
    EXIT,
    CapacityStep,
    EntityClass,
    InitialGroup,
    KpiOptions,
    OnWait,
    ReleaseHours,
    Resource,
    Route,
    Schedule,
    Station,
    TimeWindow,
)

__all__ = [
    "DAYS",
    "DEFAULT_CLASS",
    "EXIT",
    "MINUTES_PER_DAY",
    "MINUTES_PER_WEEK",
    "Arrival",
    "BatchSize",
    "CapacityStep",
    "DatedRates",
    "Distribution",
    "Empirical",
    "EntityClass",
    "Exponential",
    "Fixed",
    "FlowSpec",
    "Gamma",
    "InitialGroup",
    "KpiOptions",
    "Lognormal",
    "Normal",
    "OnWait",
    "PoissonArrivals",
    "Problem",
    "RateProfile",
    "ReleaseHours",
    "Resource",
    "Route",
    "Schedule",
    "ScheduledArrivals",
    "ScheduledSlot",
    "SpecError",
    "Start",
    "Station",
    "TimeUnit",
    "TimeWindow",
    "Triangular",
    "Uniform",
    "Weibull",
    "apply_overrides",
    "gamma_params",
    "json_schema",
    "load_spec",
    "lognormal_params",
    "parse_day",
    "parse_spec",
    "parse_time_of_day",
    "validate_dict",
]


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a flow-network spec (draft 2020-12)."""
    schema = FlowSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Twinsight flow-network spec"
    return schema


def json_schema_text() -> str:
    """The JSON Schema as indented text."""
    return json.dumps(json_schema(), indent=2)
