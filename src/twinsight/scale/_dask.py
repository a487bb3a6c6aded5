"""Chunks of replications on a Dask cluster: a local one started here, or one joined by address."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from ..engines import RepResult
from ._executors import (
    Job,
    RunTask,
    ScaleError,
    pool_chunk_size,
    shielded_from_interrupt,
)
from ._wire import run_shipped, ship_jobs, unpack

__all__ = ["DaskExecutor"]


class DaskExecutor:
    """Runs chunks as tasks of a ``distributed.Client``.

    ``cluster``: ``"local"`` starts a ``LocalCluster`` of ``workers`` processes with one thread
    each (stopped again by :meth:`close`); ``"tcp://HOST:PORT"`` joins a running scheduler
    (``workers`` is then read from it). A task whose worker dies is run again elsewhere by Dask
    (``retries`` more times if it fails); a task that keeps killing workers, or a cluster that
    goes away, ends the run with :class:`ScaleError`. ``timeout``: seconds to reach a scheduler.
    """

    name = "dask"

    def __init__(
        self,
        cluster: str = "local",
        workers: int | None = None,
        *,
        retries: int = 2,
        timeout: float = 20.0,
    ) -> None:
        try:
            import distributed
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise ScaleError(f"the Dask executor needs 'distributed' ({exc})") from exc
        self.retries = retries
        self.address = cluster
        self._cluster: Any = None
        self._owns_client = True
        dist: Any = distributed  # untyped library
        if cluster == "local":
            with shielded_from_interrupt():  # the workers leave Ctrl-C to this process
                self._cluster = dist.LocalCluster(
                    n_workers=max(1, workers or 2),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                    silence_logs=logging.ERROR,  # not Dask's warnings on a cancelled run
                )
            self.client: Any = dist.Client(self._cluster)
            self.address = str(self._cluster.scheduler_address)
        elif cluster.startswith(("tcp://", "tls://", "ws://", "wss://", "inproc://")):
            try:
                self.client = dist.Client(cluster, timeout=timeout)
            except (OSError, TimeoutError) as exc:
                raise ScaleError(
                    f"cannot reach the Dask scheduler at {cluster} within {timeout:g} s ({exc}); "
                    "check the address and that 'dask scheduler' runs there"
                ) from exc
        else:
            raise ScaleError(
                f"cluster {cluster!r} is neither 'local' nor an address like tcp://HOST:8786"
            )
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})) or 1)

    @classmethod
    def from_client(cls, client: Any, *, retries: int = 2) -> DaskExecutor:
        """An executor on an existing ``distributed.Client`` (not closed by :meth:`close`)."""
        self = cls.__new__(cls)
        self.retries = retries
        self.address = str(client.scheduler.address)
        self._cluster = None
        self.client = client
        self.workers = max(1, len(client.scheduler_info().get("workers", {})) or 1)
        self._owns_client = False
        return self

    def chunk_size(self, reps: int) -> int:
        """About four chunks per worker."""
        return pool_chunk_size(reps, self.workers)

    def map(self, task: RunTask, chunks: Sequence[Sequence[int]]) -> Iterator[list[RepResult]]:
        """Each chunk's results in order; a chunk is one task (pure=False: never taken from an
        earlier run's cache, and the engine is deterministic anyway)."""
        return self.map_jobs([(task, c) for c in chunks])

    def map_jobs(self, jobs: Sequence[Job]) -> Iterator[list[RepResult]]:
        """Each job's results in order; a job is one Dask task carrying its own copy of its
        task object (not scattered: data scattered to a worker that dies is lost with it),
        pickled once here and unpickled once per worker (``_wire``), its results packed."""
        from distributed import CancelledError

        futures = [
            self.client.submit(run_shipped, task, reps, 1, retries=self.retries, pure=False)
            for task, reps in ship_jobs(jobs)
        ]
        try:
            for i, fut in enumerate(futures):
                try:
                    result: list[RepResult] = unpack(fut.result())
                except (CancelledError, OSError, TimeoutError) as exc:
                    raise ScaleError(
                        f"the Dask cluster at {self.address} was lost after {i} of "
                        f"{len(futures)} chunks ({type(exc).__name__}: {exc}); nothing was "
                        "kept; start the cluster again or use --executor processes"
                    ) from exc
                except Exception as exc:
                    if type(exc).__name__ == "KilledWorker":
                        raise ScaleError(
                            f"a chunk of replications killed {exc.args[-1] if exc.args else ''} "
                            f"Dask workers in a row (chunk {i + 1} of {len(futures)}); the "
                            "workers may lack memory: use fewer replications per worker or "
                            "more memory"
                        ) from exc
                    raise
                yield result
        finally:
            self.client.cancel([f for f in futures if not f.done()])

    def close(self) -> None:
        """Disconnect; stop the local cluster if this executor started it."""
        if self._owns_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
