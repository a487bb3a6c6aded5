"""Running Twinsight's engines for the benchmark: availability, warm-up, one core or all.

Replications are run the way :func:`twinsight.experiment.run_experiment` runs them (the
engine's ``run`` over chunks of 64 replication numbers, then every KPI per replication), but on
an engine object we configure: ``workers=1`` for the per-core figure (the fast engine runs
replications in threads otherwise). One-core runs also pin the process to a single CPU
(:func:`one_core`), so no engine can use a second core behind our back.
"""

from __future__ import annotations

import importlib
import inspect
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from twinsight.engines import get_engine, kpi_names
from twinsight.spec import FlowSpec

from ._common import Block

__all__ = [
    "available", "cores", "engine_blocks", "one_core", "parallel_note", "reps_for", "warm_up",
]

#: The per-replication KPIs whose sum is the number of entities that left the system.
LEFT = ("departures", "abandoned", "balked")
CHUNK = 64  # replications per engine call, as run_experiment does


def available(engine: str) -> str | None:
    """None if ``engine`` can be imported and built, else a one-line reason."""
    try:
        importlib.import_module(f"twinsight.engines.{engine}")
        get_engine(engine)
    except Exception as exc:  # the engines are being written: any failure means "not usable"
        return f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
    return None


def cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@contextmanager
def one_core() -> Iterator[None]:
    """Pin this process (all its threads) to one CPU for the duration (no-op where unsupported)."""
    try:
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {max(before)})
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        yield
        return
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _engine(name: str, workers: int | None) -> Any:
    """The engine ``name``, limited to ``workers`` parallel replications if it has workers."""
    eng: Any = get_engine(name)
    if "workers" in inspect.signature(type(eng)).parameters:
        eng = type(eng)(workers=workers)
    return eng


def _run(spec: FlowSpec, eng: Any, reps: list[int], seed: int, horizon: float,
         warmup: float) -> dict[str, list[float]]:
    """Every KPI of replications ``reps`` (their numbers), as run_experiment collects them."""
    results: list[Any] = []
    for start in range(0, len(reps), CHUNK):
        ids = reps[start:start + CHUNK]
        results += eng.run(spec, seed, ids, horizon=horizon, warmup=warmup)
    return {k: [float(r.kpis[k]) for r in results] for k in kpi_names(spec)}


def warm_up(spec: FlowSpec, engine: str) -> float:
    """Run a few short replications so numba compiles (or loads its cache) before timing;
    return the seconds it took."""
    t0 = time.perf_counter()
    h = min(spec.horizon, max(2.0 * spec.warmup, 1.0))
    for workers in (1, None):
        _run(spec, _engine(engine, workers), [0, 1], 12345, h, 0.5 * h)
    return time.perf_counter() - t0


def engine_blocks(
    spec: FlowSpec,
    engine: str,
    seed: int,
    horizon: float,
    warmup: float,
    stats: list[str],
    *,
    single: bool = True,
) -> Callable[[list[int]], Block]:
    """A function timing replications ``ids`` on ``engine``: one core when ``single``, else all.
    """
    eng = _engine(engine, 1 if single else None)

    def block(ids: list[int]) -> Block:
        with one_core() if single else _nothing():
            t0, c0 = time.perf_counter(), time.process_time()
            per_rep = _run(spec, eng, ids, seed, horizon, warmup)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        entities = int(sum(sum(per_rep[k]) for k in LEFT))
        return Block(wall, cpu, entities, {k: per_rep[k] for k in stats})

    return block


def parallel_note(engine: str) -> str:
    """How the all-cores run of ``engine`` is parallel."""
    eng = _engine(engine, None)
    return f"{cores()} cores, workers={getattr(eng, 'workers', None) or cores()}"


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def reps_for(seconds: float, per_rep_s: float, floor: int, cap: int) -> int:
    """Replications that take about ``seconds`` at ``per_rep_s`` each, in [floor, cap]."""
    if per_rep_s <= 0 or not math.isfinite(per_rep_s):
        return cap
    return max(floor, min(cap, math.ceil(seconds / per_rep_s)))
