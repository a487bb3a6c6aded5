"""Twinsight: digital twins of the services people rely on.

The public API: describe a system (:mod:`twinsight.spec`), run it on an engine
(:mod:`twinsight.engines`), and analyse the replications (:mod:`twinsight.experiment`).
"""

from __future__ import annotations

from .experiment import ExperimentResult, Interval, run_experiment, t_interval
from .spec import FlowSpec, SpecError, json_schema, load_spec, parse_spec

__all__ = [
    "ExperimentResult",
    "FlowSpec",
    "Interval",
    "SpecError",
    "__version__",
    "json_schema",
    "load_spec",
    "parse_spec",
    "run_experiment",
    "t_interval",
]

__version__ = "0.1.0"
