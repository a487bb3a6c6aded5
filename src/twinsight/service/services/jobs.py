"""Background jobs: long computations (forecast, backtest, calibration, drift, compare) started
by a POST answered ``202 Accepted`` at once, run in a worker thread, polled with
``GET /twins/{name}/jobs?id=``. At most ``MAX_RUNNING`` run at once (the others wait); the
newest ``KEEP`` jobs are remembered (in memory: a restart forgets them, their run records stay
in the store)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ...assimilate import StateError
from ...calibrate import CalibrationError
from ...decide import ScenarioError
from ...govern import Principal, audit
from ...spec import SpecError
from ..problems import ProblemError
from ..schemas_dashboard import JobOut
from .registry import TwinHandle

__all__ = ["KEEP", "MAX_RUNNING", "Job", "JobBoard", "get_jobs", "start_job"]

#: Jobs computing at once (the machine's cores are shared with ingest and reads).
MAX_RUNNING = 2
#: Jobs remembered (newest).
KEEP = 100
log = logging.getLogger("twinsight.service")
#: Errors whose message is written for people (what is wrong, what to do).
_TOLD = (StateError, CalibrationError, ScenarioError, SpecError, ValueError, KeyError)


@dataclass
class Job:
    """One background computation and, once finished, its result or error."""

    id: str
    twin: str
    kind: str
    actor: str
    created_at: datetime
    status: str = "running"
    finished_at: datetime | None = None
    seconds: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None

    def out(self) -> JobOut:
        """The job as answered."""
        return JobOut(**self.__dict__)


def _message(exc: BaseException) -> str:
    if isinstance(exc, ProblemError):
        return exc.detail
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    if isinstance(exc, _TOLD):
        return str(exc)
    return f"the computation failed ({type(exc).__name__}); see the service log"


class JobBoard:
    """The app's jobs (one per app, made on first use)."""

    def __init__(self) -> None:
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_RUNNING)

    def submit(self, twin: str, kind: str, actor: str, work: Callable[[], dict[str, Any]]) -> Job:
        """Start ``work`` (blocking; run in a worker thread); the job, status ``running``."""
        job = Job(uuid.uuid4().hex[:12], twin, kind, actor, datetime.now(UTC))
        self._jobs[job.id] = job
        while len(self._jobs) > KEEP:
            self._jobs.popitem(last=False)
        task = asyncio.create_task(self._run(job, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def _run(self, job: Job, work: Callable[[], dict[str, Any]]) -> None:
        start = time.monotonic()
        async with self._slots:
            try:
                job.result = await run_in_threadpool(work)
                job.status = "done"
            except Exception as exc:
                job.status, job.error = "failed", _message(exc)
                if not isinstance(exc, (*_TOLD, ProblemError)):
                    log.warning("job %s (%s) failed: %s", job.id, job.kind, type(exc).__name__)
        job.finished_at = datetime.now(UTC)
        job.seconds = round(time.monotonic() - start, 3)

    def list(self, twin: str, job_id: str | None = None) -> list[Job]:
        """The twin's jobs, newest first (only ``job_id`` when given)."""
        found = [j for j in reversed(self._jobs.values()) if j.twin == twin]
        return [j for j in found if job_id is None or j.id == job_id]


def get_jobs(request: Request) -> JobBoard:
    """The app's job board (made on the first request that needs it)."""
    board = getattr(request.app.state, "jobs", None)
    if board is None:
        board = request.app.state.jobs = JobBoard()
    assert isinstance(board, JobBoard)
    return board


async def start_job(
    board: JobBoard,
    handle: TwinHandle,
    kind: str,
    principal: Principal,
    work: Callable[[], dict[str, Any]],
    detail: dict[str, Any] | None = None,
) -> JobOut:
    """Record who started what in the twin's audit log, then start the job."""
    await run_in_threadpool(
        audit.append,
        handle.twin.engine,
        actor=principal.actor,
        action=kind,
        target=handle.twin.name,
        detail=detail or {},
    )
    return board.submit(handle.twin.name, kind, principal.actor, work).out()
