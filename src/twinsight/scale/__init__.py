"""Ensembles at scale: replications in this process, on a local process pool or a Dask cluster.

Every executor gives the same numbers for the same spec and seed (replication ``i`` always
uses the streams of number ``i``); see docs/scale.md and docs/decisions/0008-executors.md.
"""

from __future__ import annotations

from ._dask import DaskExecutor
from ._executors import (
    ChunkTask,
    Executor,
    InProcess,
    Job,
    ProcessPool,
    RunTask,
    ScaleError,
    pool_chunk_size,
    run_chunk,
    start_pool_server,
)
from ._run import (
    AUTO_PROCESSES_SECONDS,
    DEFAULT_EXECUTOR,
    EXECUTOR_ENV,
    EXECUTOR_NAMES,
    JobRunner,
    auto_choice,
    default_executor,
    get_executor,
    open_executor,
    prestart,
    resolve_executor,
    run_reps,
)

__all__ = [
    "AUTO_PROCESSES_SECONDS",
    "DEFAULT_EXECUTOR",
    "EXECUTOR_ENV",
    "EXECUTOR_NAMES",
    "ChunkTask",
    "DaskExecutor",
    "Executor",
    "InProcess",
    "Job",
    "JobRunner",
    "ProcessPool",
    "RunTask",
    "ScaleError",
    "auto_choice",
    "default_executor",
    "get_executor",
    "open_executor",
    "pool_chunk_size",
    "prestart",
    "resolve_executor",
    "run_chunk",
    "run_reps",
    "start_pool_server",
]
