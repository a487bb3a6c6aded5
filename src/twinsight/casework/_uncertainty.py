"""What the calibration does not know, for the forecast's bands: one draw of the casework
model's parameters per group of replications.

The process noise of a calibrated model (its Poisson referrals, its random durations) leaves
out three things that a forecast of 28 days depends on as much:

- **the referral level.** A forecast runs at the level of the last ``recent_days`` (28), and
  the next 28 days are not at that level: seasons, surges and holidays move it. Its size is
  measured in the calibration window itself (:func:`referral_level_cv`): over sliding blocks of
  ``recent_days`` (a week apart), the log of (referrals / those the weekday pattern expects)
  in one block minus the same in the block just before it; the mean square of that change,
  less the Poisson part of both blocks (``1/N`` each: the simulation adds its own), is the
  square of ``level_cv``. Each group draws one factor for every district (gamma, mean 1, that
  CV): the referrals of a group are then a gamma mixture of Poisson streams, overdispersed as
  the data are. The level of the last ``recent_days`` is itself an estimate, shrunk towards
  the window's (``CaseworkCalibration.recent_level``): each district's factor is multiplied by
  a lognormal of that estimate's relative standard error.
- **durations** (triage, each assessment pass, the wait for information, closure): each
  fitted by maximum likelihood, whose sampling distribution is asymptotically normal in the
  optimiser's coordinates (log-parameters) with the inverse observed information as
  covariance (``LengthOfStay.cov_``); each group draws the parameters from it.
- **the rework probabilities**: each group draws from the Jeffreys posterior
  ``Beta(k + 1/2, n - k + 1/2)`` of the passes counted.

Not drawn: the priority mix, the weekday shape of referrals and the number of workers.
The draws are a function of the seed (same seed, same draws).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..calibrate import LengthOfStay
from ..calibrate._families import FAMILIES

if TYPE_CHECKING:
    from ._calibrate import CaseworkCalibration
    from ._model import CaseworkModel

__all__ = ["draw_los", "parameter_draws", "referral_level_cv"]

#: Stream of the parameter draws, apart from the engine's streams of the same seed.
_STREAM = 0x63617365


def referral_level_cv(
    times: pd.Series,
    rates: Mapping[str, list[float]],
    start: pd.Timestamp,
    until: pd.Timestamp,
    block_days: float = 28.0,
) -> float:
    """The coefficient of variation of the referral level from one block of ``block_days`` to
    the next, beyond Poisson noise (see the module docstring); 0 when the window holds fewer
    than two blocks. ``times``: referral instants in ``[start, until]``; ``rates``: district
    -> 7 daily rates (Monday first)."""
    days = pd.date_range(start.normalize(), until.normalize(), freq="D")
    block = max(1, round(block_days))
    if len(days) < 2 * block:
        return 0.0
    pattern = np.sum([np.asarray(r, dtype=float) for r in rates.values()], axis=0)
    expected = pattern[days.day_of_week]
    index = (times.dt.normalize() - days[0]).dt.days.to_numpy()
    seen = np.bincount(index[(index >= 0) & (index < len(days))], minlength=len(days))
    # complete blocks only (the last day may be partial): starts a week apart, from the end
    last = len(days) - 1
    starts = [s for s in range(last - block, -1, -7)]
    changes, noise = [], []
    for s in starts:
        prev = s - block
        if prev < 0:
            break
        n1, e1 = seen[prev:s].sum(), expected[prev:s].sum()
        n2, e2 = seen[s : s + block].sum(), expected[s : s + block].sum()
        if min(n1, n2) < 1 or min(e1, e2) <= 0:
            continue
        changes.append(math.log((n2 / e2) / (n1 / e1)))
        noise.append(1.0 / n1 + 1.0 / n2)
    if not changes:
        return 0.0
    extra = float(np.mean(np.square(changes)) - np.mean(noise))
    return math.sqrt(max(extra, 0.0))


def draw_los(los: LengthOfStay, rng: np.random.Generator) -> dict[str, Any]:
    """One draw of a fitted duration from its maximum-likelihood sampling distribution, as a
    flow-spec distribution dict (the fit itself when its covariance is not usable)."""
    fam = FAMILIES[los.family_]
    cov = np.asarray(los.cov_, dtype=float)
    if cov.size == 0 or not np.all(np.isfinite(cov)):
        return dict(los.spec_)
    cov = (cov + cov.T) / 2.0
    vals, vecs = np.linalg.eigh(cov)
    if vals.min() < -1e-9 * max(1.0, float(np.abs(vals).max())):
        return dict(los.spec_)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    theta = fam.to_theta(los.params_) + root @ rng.standard_normal(len(vals))
    try:
        return dict(fam.spec(fam.to_params(theta)))
    except (OverflowError, ValueError):
        return dict(los.spec_)


def _rework(r: tuple[float, float, float, int], rng: np.random.Generator) -> float:
    p, _, _, n = r
    if n < 1:
        return float(p)
    k = p * n
    return float(min(rng.beta(k + 0.5, n - k + 0.5), 0.995))


def parameter_draws(
    cal: CaseworkCalibration,
    groups: int,
    seed: int,
    *,
    workers: Mapping[str, int] | None = None,
    recent: bool = True,
) -> list[CaseworkModel]:
    """``groups`` models, each with its own draw of what the calibration does not know (see
    the module docstring); ``recent``: referral levels of the last ``recent_days``."""
    from dataclasses import replace

    rng = np.random.default_rng(np.random.SeedSequence([seed, _STREAM]))
    base = cal.model(workers, recent=recent)
    cv = float(getattr(cal, "level_cv_", 0.0) or 0.0)
    out = []
    for _ in range(groups):
        level = float(rng.gamma(1.0 / cv**2, cv**2)) if cv > 0 else 1.0
        referrals = {}
        for d, rates in base.referrals.items():
            sd = cal.recent_level(d)[1] if recent else 0.0
            noise = float(math.exp(rng.normal(0.0, sd))) if sd > 0 else 1.0
            referrals[d] = [r * level * noise for r in rates]
        out.append(
            replace(
                base,
                referrals=referrals,
                triage=draw_los(cal.triage_, rng),
                assessment={p: draw_los(x, rng) for p, x in cal.assessment_.items()},
                assessment_by_class={
                    c: draw_los(x, rng) for c, x in cal.assessment_by_class_.items()
                },
                info_wait=draw_los(cal.info_wait_, rng),
                closure=draw_los(cal.closure_, rng),
                rework={p: _rework(r, rng) for p, r in cal.rework_.items()},
                rework_by_class={c: _rework(r, rng) for c, r in cal.rework_by_class_.items()},
            )
        )
    return out
