"""Executors: where chunks of replications run. In this process, or on a local process pool.

An executor maps chunks of replication numbers of one :class:`RunTask` to the engines'
:class:`~twinsight.engines.RepResult` lists, in the order of the chunks. Replication ``i``
always uses the random streams of number ``i`` (docs/decisions/0002), so every executor gives
the same numbers as any other, whatever the chunking or the number of workers.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol

from ..engines import RepResult, get_engine
from ..spec import FlowSpec
from ._wire import Packed, run_shipped, ship_jobs, unpack

__all__ = [
    "ChunkTask",
    "Executor",
    "InProcess",
    "Job",
    "ProcessPool",
    "RunTask",
    "ScaleError",
    "pool_chunk_size",
    "run_chunk",
    "shielded_from_interrupt",
    "start_pool_server",
]


class ScaleError(RuntimeError):
    """Replications could not be run on the chosen executor (a worker or the cluster was lost,
    the scheduler cannot be reached); the message says what happened and what to try."""


class ChunkTask(Protocol):
    """What the chunks of one job share and how a chunk runs: :class:`RunTask`, or any other
    picklable object with an ``engine`` name and this ``run`` (e.g. a comparison's variant
    whose replications each draw their own parameters). ``run`` must give replication ``i``
    the same numbers wherever and with whatever other replications it runs."""

    @property
    def engine(self) -> str:
        """The engine's name (``fast`` jobs run on threads in process; see :class:`InProcess`)."""
        ...

    def run(self, reps: Sequence[int], threads: int | None = None) -> list[RepResult]:
        """Replications ``reps``, in order; ``threads``: the fast engine's (None: per core)."""
        ...


#: A task and the replication numbers of one chunk of it.
Job = tuple[ChunkTask, Sequence[int]]


@dataclass(frozen=True)
class RunTask:
    """What every chunk of one experiment shares: the spec, the seed, the engine's name and the
    run window (``horizon``, ``warmup`` in the spec's time_unit, already resolved)."""

    spec: FlowSpec
    seed: int
    engine: str
    horizon: float
    warmup: float

    def run(self, reps: Sequence[int], threads: int | None = None) -> list[RepResult]:
        """Replications ``reps`` of the spec here, in order (``threads``: see ``run_chunk``)."""
        if self.engine == "fast" and threads is not None:
            from ..engines.fast import FastEngine

            return FastEngine(workers=threads).run(
                self.spec, self.seed, reps, horizon=self.horizon, warmup=self.warmup
            )
        engine = get_engine(self.engine)
        return engine.run(self.spec, self.seed, reps, horizon=self.horizon, warmup=self.warmup)


def run_chunk(task: ChunkTask, reps: Sequence[int], threads: int | None = None) -> list[RepResult]:
    """Run replications ``reps`` of ``task`` here (the function workers call).

    ``threads``: threads of the fast engine (None: one per core; a pool worker uses 1, the
    pool itself being the parallelism). Results in the order of ``reps``.
    """
    return task.run(reps, threads)


class Executor(Protocol):
    """Runs chunks of replications somewhere; results in the order of the chunks."""

    #: ``inprocess``, ``processes`` or ``dask``.
    name: str
    #: How many chunks can run at once.
    workers: int

    def chunk_size(self, reps: int) -> int:
        """Replications per chunk for an experiment of ``reps`` replications."""
        ...

    def map(self, task: RunTask, chunks: Sequence[Sequence[int]]) -> Iterator[list[RepResult]]:
        """Each chunk's results, in the order of ``chunks`` (lazily: one list per chunk as soon
        as it and every chunk before it are done). Raises :class:`ScaleError` when a worker or
        the cluster is lost for good."""
        ...

    def map_jobs(self, jobs: Sequence[Job]) -> Iterator[list[RepResult]]:
        """``map`` for chunks of several tasks (a comparison's variants, a forecast's groups):
        each job's results, in the order of ``jobs``, lazily."""
        ...

    def close(self) -> None:
        """Release the workers (an executor can be used for many experiments before that)."""
        ...


def pool_chunk_size(reps: int, workers: int) -> int:
    """About four chunks per worker (so a slow chunk does not idle the others and progress moves),
    at most 64 replications per chunk."""
    return max(1, min(64, math.ceil(reps / (4 * max(workers, 1)))))


class InProcess:
    """Runs every chunk in this process, one after the other, as ``run_experiment`` always did
    (the fast engine runs the replications of a chunk on one thread per core)."""

    name = "inprocess"

    def __init__(self) -> None:
        self.workers = 1

    def chunk_size(self, reps: int) -> int:
        """Up to 64 replications per chunk (the engine's threads share a chunk)."""
        return max(1, min(reps, 64))

    def map(self, task: RunTask, chunks: Sequence[Sequence[int]]) -> Iterator[list[RepResult]]:
        """Each chunk's results, computed here when asked for."""
        engine = get_engine(task.engine)
        for reps in chunks:
            yield engine.run(task.spec, task.seed, reps, horizon=task.horizon, warmup=task.warmup)

    def map_jobs(self, jobs: Sequence[Job]) -> Iterator[list[RepResult]]:
        """Each job's results. Jobs of the fast engine run side by side on one thread per core,
        each on one thread (its kernel releases the GIL; a job may be a single replication,
        which the engine's own threads could not share out); others one after the other."""
        cores = os.cpu_count() or 1
        if cores < 2 or len(jobs) < 2 or any(task.engine != "fast" for task, _ in jobs):
            for task, reps in jobs:
                yield task.run(reps, None)
            return
        with ThreadPoolExecutor(max_workers=cores) as threads:
            futures = [threads.submit(task.run, reps, 1) for task, reps in jobs]
            try:
                for fut in futures:
                    yield fut.result()
            finally:
                for fut in futures:
                    fut.cancel()

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> InProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ignore_interrupt() -> None:
    """Pool workers leave Ctrl-C to the parent, which cancels their work and stops them (no
    traceback from every worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def shielded_from_interrupt() -> Iterator[None]:
    """Ignore SIGINT in this process while worker processes are started, so that they inherit
    "ignore" (Ctrl-C in a terminal reaches the whole process group: the workers would print
    tracebacks while importing); the parent gets its handler back at once and stops them."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: signals are not ours to set
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _context() -> multiprocessing.context.BaseContext:
    """``forkserver`` where there is one (Linux: fresh workers forked from a server that has
    already imported the engines and loaded the fast engine's machine code, ``_preload``; no
    copy of this process's threads), else ``spawn``."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["twinsight.scale._preload"])
        return ctx
    return multiprocessing.get_context("spawn")


def start_pool_server() -> None:
    """Start the forkserver of the process pools now and return at once: it imports Twinsight
    and loads the fast engine's machine code (``_preload``) in the background, while this
    process goes on; every pool worker is then a quick fork of it. Started with Ctrl-C ignored,
    which it and its forks keep (this process stops them). No-op without forkserver (spawn)
    or when it already runs."""
    if _context().get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    with shielded_from_interrupt():
        forkserver.ensure_running()


def _spawn_shield() -> contextlib.AbstractContextManager[None]:
    """What a submit that may start workers needs: nothing with the forkserver (its forks keep
    the Ctrl-C it ignores, see :func:`start_pool_server`), so this process still hears a Ctrl-C
    then; with ``spawn`` the workers are this process's children and inherit what it does, so
    it ignores Ctrl-C while they start (a Ctrl-C in that moment is lost)."""
    if _context().get_start_method() == "forkserver":
        return contextlib.nullcontext()
    return shielded_from_interrupt()


def _warm_worker() -> int:
    """A pool's first task on each worker: nothing left to load after the forkserver's preload
    (with ``spawn``, the imports happen here); the worker's process id."""
    from . import _wire  # noqa: F401

    return os.getpid()


class ProcessPool:
    """Chunks on a pool of local worker processes (``concurrent.futures``, forkserver or spawn).

    ``workers``: processes (default: the CPU count). The pool starts at the first ``map`` and
    lives until :meth:`close`, so many experiments (an optimisation's candidates) pay the start
    once: each worker imports Twinsight and loads the fast engine's cached machine code (a few
    seconds; numba compiles it once per machine, not per worker, since the kernels are
    ``cache=True``). Each worker runs its chunk on one thread. When a worker process dies, the
    pool is restarted and the unfinished chunks run again (``retries`` times), then
    :class:`ScaleError`.
    """

    name = "processes"

    def __init__(self, workers: int | None = None, retries: int = 1) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.retries = retries
        self._pool: ProcessPoolExecutor | None = None
        self._starting: threading.Thread | None = None
        self._start_error: BaseException | None = None

    def chunk_size(self, reps: int) -> int:
        """About four chunks per worker."""
        return pool_chunk_size(reps, self.workers)

    def start(self) -> ProcessPool:
        """Start the workers now, in the background, and return at once: the forkserver (started
        here, ignoring Ctrl-C like the workers it forks) imports Twinsight and loads the fast
        engine, then forks every worker, while this process goes on (e.g. loading a twin and
        building its spec). The first ``map`` waits for what is left of it. Idempotent."""
        if self._pool is not None or self._starting is not None:
            return self
        start_pool_server()
        self._starting = threading.Thread(
            target=self._start_workers, name="twinsight-pool-start", daemon=True
        )
        self._starting.start()
        return self

    def _start_workers(self) -> None:
        try:
            pool = self._new_pool()
            for _ in range(self.workers):  # one warm-up task per worker starts them all
                pool.submit(_warm_worker)
            self._pool = pool
        except BaseException as exc:  # handed to the first map
            self._start_error = exc

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers, mp_context=_context(), initializer=_ignore_interrupt
        )

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._starting is not None:
            self._starting.join()
            self._starting = None
            if self._start_error is not None:
                error, self._start_error = self._start_error, None
                if not isinstance(error, BrokenProcessPool | OSError):
                    raise error
        if self._pool is None:
            self._pool = self._new_pool()
        return self._pool

    def map(self, task: RunTask, chunks: Sequence[Sequence[int]]) -> Iterator[list[RepResult]]:
        """Each chunk's results in order; chunks run side by side on the workers."""
        return self.map_jobs([(task, c) for c in chunks])

    def map_jobs(self, jobs: Sequence[Job]) -> Iterator[list[RepResult]]:
        """Each job's results in order; jobs run side by side on the workers (each pickles its
        task: a hospital spec with a few hundred present patients is ~55 kB)."""
        todo = ship_jobs(jobs)  # each task pickled once, not once per chunk
        done = 0
        failures = 0
        while done < len(todo):
            futures: list[Future[Packed | list[RepResult]]] = []
            try:
                # a worker lost since the last map (e.g. between two batches of a comparison)
                # breaks the pool at the first submit: the same retry as during a run
                pool = self._get_pool()  # may wait for the start: Ctrl-C must stop it
                with _spawn_shield():  # workers start at the first submits
                    for task, reps in todo[done:]:
                        futures.append(pool.submit(run_shipped, task, reps, 1))
                for fut in futures:
                    result = unpack(fut.result())
                    done += 1
                    yield result
            except BrokenProcessPool as exc:
                failures += 1
                self._discard()
                if failures > self.retries:
                    why = str(exc).rstrip(".")
                    raise ScaleError(
                        f"a worker process died while running replications ({failures} times; "
                        f"{done} of {len(todo)} chunks done: {why}); try fewer workers "
                        "(--workers), more memory, or --executor inprocess"
                    ) from exc
            except KeyboardInterrupt:
                self._kill()  # Ctrl-C: stop now, not after the running chunks
                raise
            finally:
                for fut in futures:
                    fut.cancel()

    def _kill(self) -> None:
        """Terminate the worker processes at once and forget the pool; wait (5 s at most) for
        the pool's manager thread to see them gone and close its pipe, so that the interpreter's
        exit (Ctrl-C ends the command) does not race it (Python 3.11 then prints "Bad file
        descriptor" from concurrent.futures' exit hook)."""
        self._join_start()
        if self._pool is not None:
            pool = self._pool
            procs: dict[int, Any] = getattr(pool, "_processes", None) or {}
            for proc in list(procs.values()):
                proc.terminate()
            self._discard()
            manager = getattr(pool, "_executor_manager_thread", None)
            if manager is not None:
                manager.join(timeout=5.0)

    def _discard(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _join_start(self) -> None:
        if self._starting is not None:
            self._starting.join()
            self._starting = None
            self._start_error = None

    def close(self) -> None:
        """Stop the worker processes."""
        self._join_start()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> ProcessPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
