"""Twinsight: digital twins of the services people rely on.

The public API: describe a system (:mod:`twinsight.spec`), run it on an engine
(:mod:`twinsight.engines`), and analyse the replications (:mod:`twinsight.experiment`); keep a
twin of a hospital in sync with its events and ask it about the coming days
(:class:`HospitalTwin`, :mod:`twinsight.hospital`), every answer a pandas DataFrame.

The names below are loaded on first use (PEP 562), so ``import twinsight`` is instant and a
submodule (``twinsight.spec``, the command line) loads only what it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: Public name -> the submodule that defines it.
_HOME = {
    "ExperimentResult": "experiment",
    "Interval": "experiment",
    "run_experiment": "experiment",
    "t_interval": "experiment",
    "HospitalTwin": "hospital",
    "FlowSpec": "spec",
    "SpecError": "spec",
    "json_schema": "spec",
    "load_spec": "spec",
    "parse_spec": "spec",
    "init_twin": "twin",
    "open_twin": "twin",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'twinsight' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
