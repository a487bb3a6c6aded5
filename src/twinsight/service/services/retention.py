"""Scheduled retention: every ``retention_interval_hours``, each twin of the home keeps raw
events of the last ``retention_days`` days only (``twinsight.govern.retention``).

The first run starts with the service; each run is audited in the twin's log (actor
``service``). A twin that cannot be opened (its database URL missing) is skipped and logged.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool

from ...govern.retention import apply_retention
from ..problems import ProblemError
from .registry import TwinRegistry

__all__ = ["retention_loop", "run_retention"]

log = logging.getLogger("twinsight.service")


def run_retention(registry: TwinRegistry, days: int) -> int:
    """One retention pass over every twin of the home; how many twins it covered."""
    done = 0
    for info in registry.list():
        try:
            handle = registry.get(info.name)
            report = apply_retention(handle.twin.engine, days, actor="service")
        except ProblemError as exc:
            log.warning("retention: twin %s skipped (%s)", info.name, exc.slug)
            continue
        except Exception as exc:  # one twin's failure must not stop the others
            log.warning("retention: twin %s failed (%s)", info.name, type(exc).__name__)
            continue
        done += 1
        log.info(
            "retention: twin %s: %d events, %d quarantined records deleted",
            info.name,
            report.events_deleted,
            report.quarantine_deleted,
        )
    return done


async def retention_loop(registry: TwinRegistry, days: int, interval_hours: float) -> None:
    """Run ``run_retention`` now and then every ``interval_hours`` (until cancelled)."""
    while True:
        await run_in_threadpool(run_retention, registry, days)
        await asyncio.sleep(interval_hours * 3600.0)
