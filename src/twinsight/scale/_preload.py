"""Imported by the forkserver of the process pools before it forks any worker.

Every worker is a fork of that server, so what is loaded here is loaded once per command, not
once per worker: the engines, the spec and what the workers call (1.1 s of CPU), and the fast
engine's machine code -- numba's on-disk cache is read (or, after a change of the engine's
sources, the kernel compiled) by one small replication here, on one thread, so no thread and no
pool exists when the server forks. The comparisons' tasks with parameter draws
(``twinsight.decide``, pandas and SciPy: another 1.3 s) are left to the workers that meet one:
forecasts and plain comparisons, the common runs, do not need them.
"""

from __future__ import annotations

import contextlib

from ..engines import fast, reference  # noqa: F401 - numba, SimPy
from . import _executors, _wire  # noqa: F401 - what the workers call

#: A one-station spec that runs every kernel of the fast engine for a moment.
_WARM_SPEC = """
twinsight: 1
name: warm-up
time_unit: minutes
horizon: 50
warmup: 5
resources:
  server: {capacity: 1}
stations:
  counter:
    resources: {server: 1}
    service: {dist: exponential, mean: 1.0}
arrivals:
  - name: customers
    to: counter
    rate: 0.5
"""


def warm() -> None:
    """Load (or compile) the fast engine's machine code with one replication, one thread."""
    from ..engines.fast import FastEngine
    from ..spec import parse_spec

    FastEngine(workers=1).run(parse_spec(_WARM_SPEC), 0, [0])


with contextlib.suppress(Exception):  # a worker loads whatever is missing when it needs it
    warm()
