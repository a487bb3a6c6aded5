"""Experiments: replications with independent streams, confidence intervals, warm-up, precision."""

from __future__ import annotations

from ._precision import PrecisionTarget, run_to_precision
from ._runner import ExperimentResult, run_experiment
from ._stats import Interval, mser5, replications_needed, t_interval
from ._warmup import suggest_warmup
from .streams import source_key, stream_seed, stream_sources, xoshiro_state

__all__ = [
    "ExperimentResult",
    "Interval",
    "PrecisionTarget",
    "mser5",
    "replications_needed",
    "run_experiment",
    "run_to_precision",
    "source_key",
    "stream_seed",
    "stream_sources",
    "suggest_warmup",
    "t_interval",
    "xoshiro_state",
]
