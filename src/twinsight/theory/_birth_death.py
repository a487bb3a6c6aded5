"""Birth-death chains: stationary distributions, exactly or truncated where the tail is negligible.

A birth-death chain on ``n = 0, 1, 2, ...`` moves ``n -> n+1`` at rate ``birth(n)`` and
``n -> n-1`` at rate ``death(n)`` (events per time unit). Its stationary probabilities satisfy
``p[n+1] / p[n] = birth(n) / death(n+1)``; they are computed in log space so that large loads
(hundreds of servers, say) neither overflow nor underflow.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import logsumexp

__all__ = ["BirthDeath", "birth_death_stationary"]

RateFn = Callable[[int], float]


def birth_death_stationary(birth: npt.ArrayLike, death: npt.ArrayLike) -> np.ndarray:
    """Stationary probabilities of a finite birth-death chain on ``0..N``.

    ``birth[n]`` is the rate ``n -> n+1`` for ``n = 0..N-1``; ``death[n]`` the rate ``n -> n-1``
    for ``n = 1..N`` given as ``death[0..N-1]`` (that is, ``death[k]`` is the death rate of state
    ``k + 1``). Both in events per time unit. Returns ``N + 1`` probabilities summing to one.
    """
    b = np.asarray(birth, dtype=float)
    d = np.asarray(death, dtype=float)
    if b.shape != d.shape:
        raise ValueError("birth and death need the same length (one entry per transition)")
    if np.any(d <= 0):
        raise ValueError("death rates must be positive")
    if np.any(b < 0):
        raise ValueError("birth rates must be non-negative")
    with np.errstate(divide="ignore"):
        steps = np.log(b) - np.log(d)
    logp = np.concatenate(([0.0], np.cumsum(steps)))
    return np.asarray(np.exp(logp - logsumexp(logp)), dtype=float)


@dataclass(frozen=True)
class BirthDeath:
    """A birth-death chain with rate functions, truncated where its tail mass is below ``tol``."""

    birth: RateFn
    death: RateFn

    def stationary(self, tol: float = 1e-15, max_states: int = 10_000_000) -> np.ndarray:
        """Stationary probabilities ``p[0..N]``, with the mass beyond ``N`` below ``tol``.

        The chain is extended until the ratio ``r = birth(n) / death(n + 1)`` is below one and
        stays non-increasing, and the geometric bound ``p[N] r / (1 - r)`` on the rest of the tail
        (relative to the total) is below ``tol``. It raises ``ValueError`` when the chain does not
        settle (an unstable queue) within ``max_states``.
        """
        logp = [0.0]
        log_total = 0.0
        last_ratio = math.inf
        n = 0
        while True:
            bn = self.birth(n)
            if bn <= 0:
                break  # state n+1 is never reached
            dn = self.death(n + 1)
            if dn <= 0:
                raise ValueError(f"death rate of state {n + 1} must be positive")
            r = bn / dn
            nxt = logp[-1] + math.log(r)
            logp.append(nxt)
            log_total = _logaddexp(log_total, nxt)
            n += 1
            if r < 1.0 and r <= last_ratio:
                bound = nxt + math.log(r) - math.log1p(-r) - log_total
                if bound < math.log(tol):
                    break
            last_ratio = r
            if n >= max_states:
                raise ValueError(
                    f"the chain has not settled after {max_states} states: is the queue stable "
                    "(arrival rate below total service capacity, or abandonment)?"
                )
        arr = np.asarray(logp)
        return np.asarray(np.exp(arr - logsumexp(arr)), dtype=float)


def _logaddexp(a: float, b: float) -> float:
    hi, lo = (a, b) if a >= b else (b, a)
    return hi + math.log1p(math.exp(lo - hi))
