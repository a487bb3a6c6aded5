"""Twinsight: digital twins of the services people rely on.

The public API: describe a system (:mod:`twinsight.spec`), run it on an engine
(:mod:`twinsight.engines`), and analyse the replications (:mod:`twinsight.experiment`); keep a
twin of a hospital in sync with its events and ask it about the coming days
(:class:`HospitalTwin`, :mod:`twinsight.hospital`), every answer a pandas DataFrame.
"""

from __future__ import annotations

from .experiment import ExperimentResult, Interval, run_experiment, t_interval
from .hospital import HospitalTwin
from .spec import FlowSpec, SpecError, json_schema, load_spec, parse_spec
from .twin import init_twin, open_twin

__all__ = [
    "ExperimentResult",
    "FlowSpec",
    "HospitalTwin",
    "Interval",
    "SpecError",
    "__version__",
    "init_twin",
    "json_schema",
    "load_spec",
    "open_twin",
    "parse_spec",
    "run_experiment",
    "t_interval",
]

__version__ = "0.1.0"
