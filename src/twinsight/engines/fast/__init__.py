"""The fast flow engine: the rules of docs/semantics.md compiled with numba.

The spec is flattened into numpy arrays (``_compile``), each replication runs an event loop
(``_kernel``) with its own xoshiro256** streams (``_random``) and bounded memory (``_state``),
and its accumulators become KPIs (``_results``). Replications run in parallel threads (the
kernel releases the GIL); each one depends only on (spec, seed, rep number).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ...spec import FlowSpec
from .._kpi import RepResult, run_window
from ._compile import compile_model, initial_entities, initial_template, rng_states
from ._kernel import simulate
from ._results import rep_result


def _drop_stale_cache() -> None:
    """Delete numba's cached machine code of this package when any of its sources changed.

    Numba re-validates a cache entry against its own source file only; the kernel also bakes in
    constants from ``_layout.py`` and code from sibling modules, so a change there would run
    stale code (and crash). A stamp of all sources in ``__pycache__`` catches that.
    """
    here = Path(__file__).parent
    cache = here / "__pycache__"
    try:
        digest = hashlib.sha256(
            b"".join(p.read_bytes() for p in sorted(here.glob("_*.py")) if p.name != "_results.py")
        ).hexdigest()
        stamp = cache / "fast-engine-sources.sha256"
        if stamp.is_file() and stamp.read_text() == digest:
            return
        for f in cache.glob("*.nb[ic]"):
            f.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:  # read-only install: numba keeps its cache elsewhere, sources do not change
        pass


_drop_stale_cache()  # numba loads cached code lazily, at the first call


__all__ = ["FastEngine", "is_compiled"]


def is_compiled() -> bool:
    """Whether numba's cache beside this package holds compiled code (False: the first
    replication will compile the kernel, which takes under a minute)."""
    return any((Path(__file__).parent / "__pycache__").glob("*.nbi"))


class FastEngine:
    """Flow-network engine compiled with numba (``name = "fast"``).

    ``workers``: threads running replications at once (default: the CPU count).
    """

    name = "fast"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers

    def run(
        self,
        spec: FlowSpec,
        seed: int,
        reps: Sequence[int],
        *,
        horizon: float | None = None,
        warmup: float | None = None,
    ) -> list[RepResult]:
        """Run replications ``reps`` of ``spec``; ``horizon``/``warmup`` (time_unit) override
        the spec's. Results come in the order of ``reps``."""
        h, w = run_window(spec, horizon, warmup)
        model = compile_model(spec, h, w)
        template = initial_template(spec)

        def one(rep: int) -> RepResult:
            initial = initial_entities(spec, seed, rep, template)
            out = simulate(model, rng_states(spec, seed, rep), initial)
            return rep_result(spec, out, h, w)

        reps = list(reps)
        n_workers = min(len(reps), self.workers or os.cpu_count() or 1)
        if n_workers <= 1:
            return [one(r) for r in reps]
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            return list(pool.map(one, reps))
