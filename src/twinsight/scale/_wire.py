"""What travels between this process and a pool's workers, and how it is kept cheap.

- A task (a spec with its warm start, ~55 kB pickled for a 400-bed hospital) is pickled once
  per run here (:func:`ship`), not once per chunk, and named by the SHA-256 of its bytes; a
  worker unpickles it once and keeps it (:func:`run_shipped`, at most :data:`KEPT_TASKS`), so
  every later chunk of the same task on that worker starts at once.
- A chunk's results come back as one float64 array of KPIs (replications x KPIs) and one
  array per series (replications x points) with the names once (:class:`Packed`), instead of
  a dict per replication: a forecast replication's 12 occupancy series and ~60 KPIs are then
  a few contiguous blocks. Unpacking gives the same :class:`RepResult` values bit for bit
  (float64 in, float64 out; a chunk whose values are not all floats and float64 series of
  one length per name travels as it is).
"""

from __future__ import annotations

import hashlib
import pickle
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..engines import RepResult

__all__ = [
    "KEPT_TASKS",
    "Packed",
    "Shipped",
    "pack",
    "run_shipped",
    "ship",
    "ship_jobs",
    "unpack",
]

#: Tasks a worker keeps unpickled (a comparison's variants, a forecast's 20 groups).
KEPT_TASKS = 32

_kept: OrderedDict[str, object] = OrderedDict()


@dataclass(frozen=True)
class Shipped:
    """A task pickled once: ``key`` (SHA-256 of ``blob``), ``blob`` (its pickle), ``engine``."""

    key: str
    blob: bytes
    engine: str


def ship(task: object) -> Shipped:
    """``task`` pickled once, to send with each of its chunks."""
    blob = pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL)
    engine = str(getattr(task, "engine", ""))
    return Shipped(hashlib.sha256(blob).hexdigest(), blob, engine)


def ship_jobs(jobs: Sequence[tuple[object, Sequence[int]]]) -> list[tuple[Shipped, list[int]]]:
    """Each job's task shipped, pickled once for all the jobs that share it (the same object)."""
    done: dict[int, Shipped] = {}
    out: list[tuple[Shipped, list[int]]] = []
    for task, reps in jobs:
        shipped = done.get(id(task))
        if shipped is None:
            shipped = done[id(task)] = ship(task)
        out.append((shipped, list(reps)))
    return out


def _task(shipped: Shipped) -> object:
    """The worker's copy of the task: unpickled at its first chunk here, then kept."""
    task = _kept.get(shipped.key)
    if task is None:
        task = pickle.loads(shipped.blob)  # our own pool's bytes
        _kept[shipped.key] = task
        while len(_kept) > KEPT_TASKS:
            _kept.popitem(last=False)
    else:
        _kept.move_to_end(shipped.key)
    return task


@dataclass(frozen=True)
class Packed:
    """A chunk's results as blocks: ``kpis`` (replications x ``kpi_names``, float64) and
    ``series[name]`` (replications x points, float64)."""

    kpi_names: tuple[str, ...]
    kpis: np.ndarray
    series: dict[str, np.ndarray]


def pack(results: list[RepResult]) -> Packed | list[RepResult]:
    """``results`` as :class:`Packed` when every replication has the same KPI names with float
    values and the same float64 1-D series of one length per name; else ``results`` as they
    are (the transport never changes a value or its type)."""
    if not results:
        return results
    first = results[0]
    names = tuple(first.kpis)
    shapes = {k: v.shape for k, v in first.series.items()}
    for r in results:
        if tuple(r.kpis) != names or any(type(v) is not float for v in r.kpis.values()):
            return results
        if tuple(r.series) != tuple(shapes):
            return results
        for k, v in r.series.items():
            if not isinstance(v, np.ndarray) or v.dtype != np.float64 or v.ndim != 1:
                return results
            if v.shape != shapes[k]:
                return results
    kpis = np.array([list(r.kpis.values()) for r in results], dtype=np.float64)
    kpis = kpis.reshape(len(results), len(names))
    series = {k: np.stack([r.series[k] for r in results]) for k in shapes}
    return Packed(names, kpis, series)


def unpack(chunk: Packed | list[RepResult]) -> list[RepResult]:
    """The :class:`RepResult` list again (series are rows of the chunk's blocks)."""
    if not isinstance(chunk, Packed):
        return chunk
    rows = chunk.kpis.tolist()
    return [
        RepResult(
            dict(zip(chunk.kpi_names, row, strict=True)),
            {k: v[i] for k, v in chunk.series.items()},
        )
        for i, row in enumerate(rows)
    ]


def run_shipped(
    shipped: Shipped, reps: Sequence[int], threads: int | None = 1
) -> Packed | list[RepResult]:
    """A worker's chunk: replications ``reps`` of the shipped task, packed."""
    task = _task(shipped)
    run = getattr(task, "run")  # noqa: B009 - a ChunkTask (see _executors)
    results: list[RepResult] = run(reps, threads)
    return pack(results)
