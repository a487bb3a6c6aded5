"""Ensembles: many stochastic runs, summarised as prediction bands per day.

``run_ensemble`` runs the binomial chain ``runs`` times from one seed (parameters may differ
per run: the calibration's uncertainty); ``Ensemble.bands`` turns any per-run daily series
into quantiles over runs (default 5, 25, 50, 75, 95%: the 90% and 50% bands and the median).

**Blocks.** The binomial chain draws for all runs of a batch together (one vectorised draw per
step), and a binomial draw uses a variable number of uniforms, so run ``i``'s numbers would
depend on how many runs are drawn with it. Ensembles are therefore cut into fixed blocks of
:data:`BLOCK` runs (runs ``64 b .. 64 b + 63``), and block ``b`` draws only from its own child
of the seed's ``SeedSequence`` (:func:`block_rng`): run ``i`` gets the same numbers whatever
the number of runs asked for, the chunks or the executor (``twinsight.scale``) that computes
its block. :class:`BlockTask` makes the blocks of one ensemble jobs of an executor and
:func:`run_blocks` runs several such ensembles (a comparison's variants) on one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engines import RepResult
from ..scale import Executor, Job, JobRunner
from ._model import CompartmentModel, Intervention, Params
from ._solve import Trajectory, simulate_stochastic

__all__ = [
    "BAND_QUANTILES",
    "BLOCK",
    "BlockTask",
    "Ensemble",
    "bands",
    "block_rng",
    "run_blocks",
    "run_ensemble",
]

#: Runs per block: each block draws from its own child of the seed's ``SeedSequence``.
BLOCK = 64


def block_rng(entropy: int | Sequence[int], block: int) -> np.random.Generator:
    """The generator of block ``block`` of the ensemble seeded by ``entropy``: child ``block``
    of ``SeedSequence(entropy)`` (``SeedSequence(entropy).spawn(n)[block]``, for any n)."""
    seq = entropy if isinstance(entropy, int) else [int(e) for e in entropy]
    return np.random.default_rng(np.random.SeedSequence(seq, spawn_key=(block,)))


class BlockTask:
    """An ensemble whose runs are computed a block of :data:`BLOCK` at a time: a
    ``twinsight.scale`` task (picklable; ``run(reps)`` gives runs ``reps``, each one the same
    whatever the other runs asked for). Subclasses define :meth:`block`."""

    #: Not the flow engine: jobs run one after the other in process (``InProcess``).
    engine = "compartments"

    def block(self, b: int) -> list[RepResult]:
        """The :data:`BLOCK` runs of block ``b`` (runs ``BLOCK * b`` onwards), in order."""
        raise NotImplementedError

    def run(self, reps: Sequence[int], threads: int | None = None) -> list[RepResult]:
        """Runs ``reps`` in order (each block computed once; ``threads`` unused)."""
        done: dict[int, list[RepResult]] = {}
        out = []
        for i in reps:
            b = int(i) // BLOCK
            if b not in done:
                done[b] = self.block(b)
            out.append(done[b][int(i) % BLOCK])
        return out


def run_blocks(
    tasks: Sequence[BlockTask],
    runs: int,
    *,
    executor: Executor | str | None = None,
    workers: int | None = None,
) -> list[list[RepResult]]:
    """Runs ``0 .. runs - 1`` of each task, one job per block, on ``executor`` (an object, kept
    open; ``inprocess``, ``processes``, ``dask``; None and ``auto``: here, one block after the
    other, since a block takes milliseconds and a pool could only add its start-up). The
    numbers are the same on every executor."""
    on: Any = None if executor == "auto" else executor
    out: list[list[RepResult]] = [[] for _ in tasks]
    owner = [t for t in range(len(tasks)) for _ in range(0, runs, BLOCK)]
    jobs: list[Job] = [(task, range(k, min(runs, k + BLOCK)))
                       for task in tasks for k in range(0, runs, BLOCK)]  # fmt: skip
    with JobRunner(on, workers=workers) as runner:
        for t, part in zip(owner, runner.map(jobs), strict=True):
            out[t] += part
    return out


#: Quantiles of the usual bands: 90% (5-95), 50% (25-75) and the median.
BAND_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def bands(values: np.ndarray, quantiles: Sequence[float] = BAND_QUANTILES) -> np.ndarray:
    """Quantiles over runs of a ``(runs, days)`` array: ``(len(quantiles), days)``."""
    return np.asarray(np.quantile(np.asarray(values, dtype=float), quantiles, axis=0))


@dataclass(frozen=True)
class Ensemble:
    """The runs of an ensemble (a stochastic ``Trajectory``) and the seed that made them."""

    trajectory: Trajectory
    seed: int

    @property
    def runs(self) -> int:
        """Number of runs."""
        return int(self.trajectory.states.shape[0])

    def flow_bands(self, *labels: str, quantiles: Sequence[float] = BAND_QUANTILES) -> np.ndarray:
        """Bands of the daily sum of these transitions (admissions: ``"I->H"``)."""
        return bands(self.trajectory.flow(*labels), quantiles)

    def compartment_bands(
        self, *names: str, quantiles: Sequence[float] = BAND_QUANTILES
    ) -> np.ndarray:
        """Bands of the sum of these compartments at the end of each day."""
        return bands(self.trajectory.compartment(*names)[:, 1:], quantiles)


def run_ensemble(
    model: CompartmentModel,
    params: Params,
    days: int,
    runs: int,
    seed: int,
    *,
    interventions: Sequence[Intervention] = (),
    x0: np.ndarray | None = None,
) -> Ensemble:
    """``runs`` runs of the binomial chain, block ``b`` of :data:`BLOCK` runs drawn from
    :func:`block_rng` ``(seed, b)``: the same seed, parameters and start give the same runs,
    and run ``i`` does not depend on how many runs follow its block. Parameter arrays (and a
    ``(runs, C)`` ``x0``) hold one value per run."""
    if runs < 1:
        raise ValueError("runs must be >= 1")
    parts = []
    for k in range(0, runs, BLOCK):
        n = min(BLOCK, runs - k)
        part = {p: _rows(v, k, n, runs, 1) for p, v in params.items()}
        start = None if x0 is None else _rows(x0, k, n, runs, 2)
        parts.append(simulate_stochastic(model, part, days, n, block_rng(seed, k // BLOCK),
                                         interventions=interventions, x0=start))  # fmt: skip
    states = np.concatenate([p.states for p in parts])
    flows = np.concatenate([p.flows for p in parts])
    return Ensemble(Trajectory(model, states, flows), seed)


def _rows(value: Any, first: int, n: int, runs: int, ndim: int) -> Any:
    """Runs ``first .. first + n - 1`` of a per-run array (``ndim`` dimensions, ``runs``
    rows); anything else (shared by every run) as given."""
    arr = np.asarray(value)
    if arr.ndim == ndim and arr.shape[0] == runs:
        return arr[first : first + n]
    return value
