"""Choose an executor and run an experiment's replications on it, chunk by chunk."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from ..engines import RepResult
from ._executors import Executor, InProcess, Job, ProcessPool, RunTask, ScaleError

__all__ = [
    "AUTO_PROCESSES_SECONDS",
    "DEFAULT_EXECUTOR",
    "EXECUTOR_ENV",
    "EXECUTOR_NAMES",
    "JobRunner",
    "auto_choice",
    "default_executor",
    "get_executor",
    "open_executor",
    "prestart",
    "resolve_executor",
    "run_reps",
]

#: The commands that run replications (the ones with ``--executor``).
_ENSEMBLE_COMMANDS = frozenset({"simulate", "compare", "forecast", "rerun", "optimise"})

#: ``--executor`` values: ``default`` (see :func:`default_executor`), ``auto`` (the rule of
#: docs/decisions/0008), ``inprocess``, ``processes``, ``dask`` (with a cluster: ``local`` or
#: ``tcp://HOST:PORT``).
EXECUTOR_NAMES = ("auto", "inprocess", "processes", "dask", "default")

#: The environment variable that names the executor ``default`` stands for (one of
#: ``processes``, ``inprocess``, ``auto``, ``dask``).
EXECUTOR_ENV = "TWINSIGHT_EXECUTOR"

#: What ``default`` stands for when :data:`EXECUTOR_ENV` is not set: a local process pool, one
#: worker per core (in this process on a one-core machine: see :func:`default_executor`).
DEFAULT_EXECUTOR = "processes"

#: ``auto`` moves the remaining replications to a process pool when they would take at least
#: this long (seconds, estimated from the first replication) in this process.
AUTO_PROCESSES_SECONDS = 20.0


def default_executor(workers: int | None = None) -> str:
    """The executor ``default`` stands for: ``$TWINSIGHT_EXECUTOR`` when set, else
    ``processes`` -- except on a one-core machine without ``workers``, where it is
    ``inprocess``: one worker cannot run beside anything there, and would only add its
    start-up and the transport of the results. Raises :class:`ScaleError` for an unknown name
    in the variable."""
    chosen = os.environ.get(EXECUTOR_ENV, "").strip().lower()
    if chosen:
        if chosen not in EXECUTOR_NAMES or chosen == "default":
            raise ScaleError(
                f"{EXECUTOR_ENV}={chosen!r} is not an executor; set it to one of "
                "processes, inprocess, auto, dask (or unset it for processes)"
            )
        return chosen
    if workers is None and (os.cpu_count() or 1) < 2:
        return "inprocess"
    return DEFAULT_EXECUTOR


def resolve_executor(name: str | None, workers: int | None = None) -> str:
    """``name`` itself, or for ``default`` (and None) what :func:`default_executor` says."""
    if name is None or name == "default":
        return default_executor(workers)
    return name


def prestart(argv: Sequence[str]) -> bool:
    """Start the process pools' server now when the command line ``argv`` (without the program)
    will run replications on a local pool: one of the ensemble commands, neither ``--help`` nor
    ``--cluster``, and ``--executor processes`` or the default (see :func:`default_executor`).
    The server then imports the engines while this process imports the command line (~2 s
    each), so the pool is ready when the command starts its replications. True if started."""
    args = list(argv)
    if not args or args[0] not in _ENSEMBLE_COMMANDS:
        return False
    if any(a in ("--help", "-h") or a.startswith("--cluster") for a in args):
        return False
    name: str | None = None
    for i, a in enumerate(args):
        if a == "--executor" and i + 1 < len(args):
            name = args[i + 1]
        elif a.startswith("--executor="):
            name = a.split("=", 1)[1]
    try:
        chosen = resolve_executor(name)
    except ScaleError:
        return False  # the command itself says what is wrong
    if chosen != "processes":
        return False
    from ._executors import start_pool_server

    start_pool_server()
    return True


def get_executor(
    name: str = "processes", *, cluster: str | None = None, workers: int | None = None
) -> Executor:
    """An executor by name: ``inprocess``, ``processes`` (``workers`` processes, default the CPU
    count) or ``dask`` (``cluster``: ``local`` starts ``workers`` local worker processes, or a
    scheduler address ``tcp://HOST:PORT``). A ``cluster`` alone means ``dask``; ``default``:
    see :func:`default_executor` (with a ``cluster``: ``dask``)."""
    if cluster is not None and name == "default":
        name = "dask"
    name = resolve_executor(name, workers)
    if cluster is not None and name == "inprocess":
        raise ScaleError(f"--cluster {cluster} needs --executor dask (or auto), not inprocess")
    if cluster is not None and name in ("dask", "auto", "processes"):
        from ._dask import DaskExecutor

        return DaskExecutor(cluster, workers)
    if name == "inprocess":
        return InProcess()
    if name == "processes":
        return ProcessPool(workers)
    if name == "dask":
        from ._dask import DaskExecutor

        return DaskExecutor("local", workers)
    raise ScaleError(f"unknown executor {name!r}; choose one of inprocess, processes, dask")


@contextmanager
def open_executor(
    name: str | None = "auto", cluster: str | None = None, workers: int | None = None
) -> Iterator[Executor | str]:
    """What ``run_experiment(executor=)`` takes for the CLI's ``--executor``/``--cluster``/
    ``--workers``: ``auto`` and ``inprocess`` as names, the others as an executor started here
    and closed on leaving (also on Ctrl-C); ``default`` or None: :func:`default_executor`.

    A process pool starts at once, in the background (its workers import Twinsight and load
    the engines while the caller builds its spec), so the first replications do not wait for
    it. Raises :class:`ScaleError` for a bad name or a cluster that cannot be reached."""
    if cluster is not None and name in (None, "default"):
        name = "dask"
    name = resolve_executor(name, workers)
    if cluster is None and name in ("auto", "inprocess"):
        yield name
        return
    executor = get_executor(name, cluster=cluster, workers=workers)
    if isinstance(executor, ProcessPool):
        executor.start()
    try:
        yield executor
    finally:
        executor.close()


Progress = Callable[[int, int], None]


def run_reps(
    executor: Executor | str,
    task: RunTask,
    reps: Sequence[int],
    *,
    chunk: int | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> list[RepResult]:
    """Replications ``reps`` of ``task`` on ``executor`` (an object, kept open, or a name:
    created here and closed at the end), in order; ``progress(done, total)`` after each chunk.

    ``"auto"``: the first replication runs here and is timed; the rest run on a process pool
    when the engine is not ``fast`` (whose threads already use every core) and they would take
    at least :data:`AUTO_PROCESSES_SECONDS` here, else here too. The numbers are the same on
    every executor: replication ``i`` always uses the streams of number ``i``.
    """
    ids = list(reps)
    if not ids:
        return []
    if isinstance(executor, str):
        executor = resolve_executor(executor, workers)
        if executor == "auto":
            return _run_auto(task, ids, chunk, progress, workers)
        owned = get_executor(executor, workers=workers)
        try:
            return _run_on(owned, task, ids, chunk, progress, 0, len(ids))
        finally:
            owned.close()
    return _run_on(executor, task, ids, chunk, progress, 0, len(ids))


def _run_on(
    executor: Executor,
    task: RunTask,
    ids: list[int],
    chunk: int | None,
    progress: Progress | None,
    done: int,
    total: int,
) -> list[RepResult]:
    size = chunk or executor.chunk_size(len(ids))
    chunks = [ids[i : i + size] for i in range(0, len(ids), size)]
    results: list[RepResult] = []
    for part in executor.map(task, chunks):
        results += part
        if progress is not None:
            progress(done + len(results), total)
    return results


def auto_choice(engine: str, reps: int, seconds_per_rep: float | None, workers: int) -> str:
    """The ``auto`` rule (docs/decisions/0008): ``processes`` when the engine is not ``fast``,
    there are at least 3 replications and 2 workers, and the replications after the first would
    take at least :data:`AUTO_PROCESSES_SECONDS` here (``seconds_per_rep``: the first one's
    time; None: not timed yet); else ``inprocess``."""
    if engine == "fast" or reps < 3 or workers < 2:
        return "inprocess"
    if seconds_per_rep is None:
        return "time the first replication"
    rest = seconds_per_rep * (reps - 1)
    return "processes" if rest >= AUTO_PROCESSES_SECONDS else "inprocess"


def _run_auto(
    task: RunTask,
    ids: list[int],
    chunk: int | None,
    progress: Progress | None,
    workers: int | None,
) -> list[RepResult]:
    here = InProcess()
    n_proc = max(1, workers or os.cpu_count() or 1)
    if auto_choice(task.engine, len(ids), None, n_proc) == "inprocess":
        return _run_on(here, task, ids, chunk, progress, 0, len(ids))
    start = time.perf_counter()
    first = _run_on(here, task, ids[:1], 1, progress, 0, len(ids))
    seconds = time.perf_counter() - start
    if auto_choice(task.engine, len(ids), seconds, n_proc) == "inprocess":
        return first + _run_on(here, task, ids[1:], chunk, progress, 1, len(ids))
    with ProcessPool(n_proc) as pool:
        return first + _run_on(pool, task, ids[1:], chunk, progress, 1, len(ids))


class JobRunner:
    """Runs batches of jobs (a comparison's variants, a forecast's groups; see ``map_jobs``) on
    one executor for a whole computation, e.g. every batch of a sequential ``--precision`` loop.

    ``executor``: an object (kept open: the caller closes it), or a name -- ``inprocess`` (and
    None), ``processes``/``dask`` (started at the first batch, closed by :meth:`close`), or
    ``auto``: decided once, at the first batch, by :func:`auto_choice`: the fast engine stays
    here; another engine runs the batch's first replication here, timed, and the rest (and
    every later batch) on a local process pool when they would take at least
    :data:`AUTO_PROCESSES_SECONDS` here. The numbers are the same on every executor.
    """

    def __init__(self, executor: Executor | str | None = None, *, workers: int | None = None):
        self.workers = workers
        self._owned: Executor | None = None
        self._chosen: Executor | None = None
        if executor is None:
            executor = "inprocess"
        if isinstance(executor, str):
            if executor not in EXECUTOR_NAMES:
                raise ScaleError(
                    f"unknown executor {executor!r}; choose one of {', '.join(EXECUTOR_NAMES)}"
                )
            self.name = resolve_executor(executor, workers)
        else:
            self._chosen = executor
            self.name = executor.name

    @property
    def executor(self) -> Executor | None:
        """The executor the batches run on (None: ``auto`` has not decided yet)."""
        if self._chosen is None and self.name != "auto":
            self._chosen = self._own(self.name)
        return self._chosen

    def _own(self, name: str) -> Executor:
        if name == "inprocess":
            return InProcess()
        self._owned = get_executor(name, workers=self.workers)
        return self._owned

    def chunk_size(self, reps: int) -> int:
        """Replications per job for ``reps`` in all (``auto`` before deciding: in process)."""
        where = self.executor
        return (where or InProcess()).chunk_size(reps)

    def map(self, jobs: Sequence[Job]) -> Iterator[list[RepResult]]:
        """Each job's results in the order of ``jobs``, lazily."""
        if not jobs:
            return
        if self._chosen is None and self.name == "auto":
            yield from self._decide(jobs)
            return
        where = self.executor
        assert where is not None
        yield from where.map_jobs(jobs)

    def _decide(self, jobs: Sequence[Job]) -> Iterator[list[RepResult]]:
        engines = {task.engine for task, _ in jobs}
        engine = "fast" if engines == {"fast"} else "other"
        total = sum(len(reps) for _, reps in jobs)
        n_proc = max(1, self.workers or os.cpu_count() or 1)
        here = InProcess()
        if auto_choice(engine, total, None, n_proc) == "inprocess":
            self._chosen = here
            yield from here.map_jobs(jobs)
            return
        task, reps = jobs[0]
        start = time.perf_counter()
        first = task.run(reps[:1], None)  # the first replication, timed
        seconds = time.perf_counter() - start
        if auto_choice(engine, total, seconds, n_proc) == "inprocess":
            self._chosen = here
        else:
            self._chosen = self._owned = ProcessPool(n_proc)
        rest = self._chosen.map_jobs([(task, reps[1:]), *jobs[1:]] if len(reps) > 1 else jobs[1:])
        yield first + next(rest) if len(reps) > 1 else first
        yield from rest

    def close(self) -> None:
        """Stop the executor this runner started (not one it was given)."""
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __enter__(self) -> JobRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
