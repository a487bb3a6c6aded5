"""Where a command's replications run: ``--executor``, ``--cluster`` and ``--workers`` for the
commands that run ensembles of a twin (``compare``, ``forecast``, ``rerun``; ``simulate`` and
``optimise`` open theirs themselves). See docs/scale.md."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ..scale import EXECUTOR_ENV, Executor, ScaleError, open_executor, resolve_executor
from ._output import EXIT_RUN_FAILED, fail

__all__ = ["in_process_only", "run_on"]


@contextlib.contextmanager
def run_on(
    executor: str | None, cluster: str | None, workers: int | None
) -> Iterator[Executor | str]:
    """The executor for one command (``auto`` and ``inprocess`` as names, the others started
    here and stopped on leaving, also on Ctrl-C; ``default`` or None: a process pool, or what
    $TWINSIGHT_EXECUTOR says, see ``twinsight.scale.default_executor``). A bad
    $TWINSIGHT_EXECUTOR: exit 2. A scheduler that cannot be reached, or workers or a cluster
    lost for good during the run: ``error: ...``, exit 1 (the run is all or nothing: nothing
    was stored)."""
    try:
        resolve_executor(executor, workers)
    except ScaleError as exc:
        fail(str(exc), f"fix or unset {EXECUTOR_ENV}")
    with contextlib.ExitStack() as stack:
        try:
            where = stack.enter_context(open_executor(executor, cluster, workers))
        except ScaleError as exc:
            fail(str(exc), "check --cluster, or use --executor inprocess", code=EXIT_RUN_FAILED)
        try:
            yield where
        except ScaleError as exc:
            fail(f"{exc} (nothing was stored)", "try --executor inprocess", code=EXIT_RUN_FAILED)


def in_process_only(what: str, executor: str | None, cluster: str | None) -> None:
    """Refuse ``--executor processes|dask`` or ``--cluster`` for twins whose runs do not go
    through the executors (exit 2), rather than ignore them; the default (``default``, None:
    the option left out) runs them here."""
    if cluster is not None or executor not in (None, "default", "auto", "inprocess"):
        chosen = f"--cluster {cluster}" if cluster is not None else f"--executor {executor}"
        fail(
            f"{chosen}: {what} runs in this process only",
            "drop the option; hospital, outbreak, contact-centre and social-services twins and "
            "'compare --spec' take --executor/--cluster",
        )
