"""The outbreak forecast's runs in blocks, on any executor (``twinsight.scale``).

A forecast of ``runs`` runs is cut into blocks of ``BLOCK`` (64) runs; block ``b`` draws
everything from its own generator, child ``b`` of ``SeedSequence(seed)``
(``compartments.block_rng``): its 64 parameter sets, the binomial chain from the present and
the count noise of admissions. Run ``i`` is then the same whatever the number of runs, the
chunks or the executor: a block is the unit of work of a job (``ForecastBlocks``), and the
last block is computed whole and cut (at most 63 runs more).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from ..compartments import DISPERSION, sample_counts, simulate_stochastic
from ..compartments._ensemble import BLOCK, BlockTask, block_rng, run_blocks
from ..engines import RepResult
from ..scale import Executor
from ._calibrate import OutbreakCalibration
from ._forecast import equations_ahead, present_state
from ._template import SEIR_HOSPITAL, interventions

__all__ = ["METRICS", "ForecastBlocks", "forecast_runs"]

#: metric -> the compartments that make it (admissions are the flow ``I->H`` plus noise).
_OUTPUTS = {"census": ("H", "C", "V"), "icu": ("C", "V"), "ventilated": ("V",)}
#: The daily series of a forecast, in the order they are reported.
METRICS = ("admissions", *_OUTPUTS)


@dataclass(frozen=True)
class ForecastBlocks(BlockTask):
    """The forecast of ``cal`` over ``days`` days with ``seed``, a block of runs at a time
    (see the module docstring): each run's daily series (admissions, census, icu,
    ventilated; patients) as a ``RepResult``'s ``series``, its parameter set as its ``kpis``.
    ``mode="deterministic"``: the same parameter draws and present states, the model's
    equations ahead and no count noise."""

    cal: OutbreakCalibration
    days: int
    seed: int
    mode: str = "stochastic"

    def block(self, b: int) -> list[RepResult]:
        """The ``BLOCK`` runs of block ``b``."""
        cal = self.cal
        rng = block_rng(self.seed, b)
        params = cal.draws(BLOCK, rng)
        present = present_state(cal, params)
        ahead = [replace(iv, day=iv.day - cal.days) for iv in interventions(cal.config, cal.start)]
        if self.mode == "deterministic":
            sto = equations_ahead(cal, params, present, ahead, self.days)
            series = {"admissions": sto.flow("I->H")}  # expected admissions: no count noise
        else:
            sto = simulate_stochastic(SEIR_HOSPITAL, params, self.days, BLOCK, rng,
                                      interventions=ahead, x0=present)  # fmt: skip
            noise: Literal["negbin", "poisson"] = "negbin" if cal.noise == "negbin" else "poisson"
            k = params.get(DISPERSION)
            series = {"admissions": sample_counts(noise, sto.flow("I->H"), rng, k)}
        series.update({m: sto.compartment(*c)[:, 1:] for m, c in _OUTPUTS.items()})
        drawn = [{p: float(v[j]) for p, v in params.items()} for j in range(BLOCK)]
        return [RepResult(drawn[j], {m: v[j] for m, v in series.items()}) for j in range(BLOCK)]


def forecast_runs(
    cal: OutbreakCalibration,
    days: int,
    runs: int,
    seed: int,
    *,
    mode: str = "stochastic",
    executor: Executor | str | None = None,
    workers: int | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Runs ``0 .. runs - 1``: each metric's daily series (``(runs, days)`` arrays, in the
    order of :data:`METRICS`) and the parameter sets (name -> ``runs`` values); the blocks
    are jobs of ``executor`` (None, ``auto``: here)."""
    task = ForecastBlocks(cal, days, seed, mode)
    (results,) = run_blocks([task], runs, executor=executor, workers=workers)
    series = {m: np.vstack([r.series[m] for r in results]) for m in METRICS}
    params = {p: np.array([r.kpis[p] for r in results]) for p in results[0].kpis}
    return series, params
