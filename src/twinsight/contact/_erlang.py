"""Exact service levels of the Erlang C and Erlang A queues, and the fewest agents meeting a
target by them.

``twinsight.theory.erlang_a`` gives the steady state of M/M/c+M; here the distribution of the
wait of the *answered* calls is added: a call arriving to find ``c + j`` present (``j`` ahead
of it in queue) moves up at rate ``a_j = c mu + j theta`` and abandons at rate ``theta``; it is
answered within ``t`` with the probability that this absorbing Markov chain reaches "answered"
by ``t``, computed with one matrix exponential over all starting positions. With ``theta = 0``
it is Erlang C's ``1 - C exp(-(c mu - lambda) t)``.

Rates per minute, times in minutes (any one unit will do, used consistently).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import expm_multiply

from ..theory import erlang_a
from ..theory._birth_death import BirthDeath

__all__ = ["ErlangLevel", "erlang_level", "fewest_agents"]


@dataclass(frozen=True)
class ErlangLevel:
    """Steady state of one interval with ``agents``: ``service_level`` (answered within the
    target over answered), ``answered_within`` (answered within the target over offered),
    ``asa`` (mean wait of the answered), ``abandon`` (share of offered), ``occupancy``."""

    agents: int
    service_level: float
    answered_within: float
    asa: float
    abandon: float
    occupancy: float


def erlang_level(
    arrival_rate: float, handle_mean: float, agents: int, patience_mean: float | None, target: float
) -> ErlangLevel:
    """Erlang A (exponential patience of mean ``patience_mean``) or Erlang C (``None``) at
    ``agents``; ``target``: the service-level threshold. Erlang C with ``arrival_rate *
    handle_mean >= agents`` is unstable: every level is 0 and the ASA infinite."""
    mu = 1.0 / handle_mean
    theta = 0.0 if patience_mean is None else 1.0 / patience_mean
    lam = float(arrival_rate)
    c = int(agents)
    if lam <= 0:
        return ErlangLevel(c, 1.0, 1.0, 0.0, 0.0, 0.0)
    if theta == 0 and lam >= c * mu:
        return ErlangLevel(c, 0.0, 0.0, math.inf, 0.0, 1.0)
    m = erlang_a(lam, mu, c, theta)
    p = BirthDeath(
        birth=lambda n: lam, death=lambda n: min(n, c) * mu + max(n - c, 0) * theta
    ).stationary(tol=1e-15)
    if p.size <= c:
        p = np.concatenate([p, np.zeros(c + 1 - p.size)])
    waiting = p[c:]
    k = (
        int(np.max(np.nonzero(waiting > 1e-13 * waiting.max())[0], initial=0)) + 1
        if waiting.size
        else 0
    )
    waiting = waiting[:k]
    # states 0..k-1: positions (number ahead); k: answered; k + 1: abandoned
    j = np.arange(k)
    adv = c * mu + j * theta
    rows = np.concatenate([j, j, j])
    cols = np.concatenate([np.where(j > 0, j - 1, k), np.full(k, k + 1), j])
    vals = np.concatenate([adv, np.full(k, theta), -(adv + theta)])
    g = sparse.csr_matrix((vals, (rows, cols)), shape=(k + 2, k + 2))
    answered_col = np.zeros(k + 2)
    answered_col[k] = 1.0
    answered_by_t = float(expm_multiply(g * target, answered_col)[:k] @ waiting) if k else 0.0
    within = float(np.sum(p[:c])) + answered_by_t
    answered = 1.0 - m.p_abandon
    return ErlangLevel(c, within / answered, within, m.wait_mean_served, m.p_abandon, m.utilisation)


def fewest_agents(
    arrival_rate: float,
    handle_mean: float,
    patience_mean: float | None,
    target: float,
    service_level: float,
    max_abandon: float = 1.0,
    limit: int = 2000,
) -> ErlangLevel:
    """The fewest agents whose Erlang C/A service level is at least ``service_level`` and
    abandonment at most ``max_abandon`` (both improve with every agent added)."""
    load = arrival_rate * handle_mean
    c = max(1, math.floor(load) + (1 if patience_mean is None else 0))
    if arrival_rate <= 0:
        return ErlangLevel(0, 1.0, 1.0, 0.0, 0.0, 0.0)
    if patience_mean is not None:  # cheap: skip agent counts whose abandonment is too high
        while (
            c < limit
            and erlang_a(arrival_rate, 1 / handle_mean, c, 1 / patience_mean).p_abandon
            > max_abandon
        ):
            c += 1
    while c <= limit:
        level = erlang_level(arrival_rate, handle_mean, c, patience_mean, target)
        if level.service_level >= service_level and level.abandon <= max_abandon:
            return level
        c += 1
    raise ValueError(f"more than {limit} agents needed for an offered load of {load:.1f}")
