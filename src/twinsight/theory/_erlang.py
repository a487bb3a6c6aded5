"""Markovian multi-server queues: M/M/1, Erlang B (M/M/c/c), Erlang C (M/M/c), M/M/c/K and
Erlang A (M/M/c+M).

Conventions: ``arrival_rate`` (lambda) and ``service_rate`` (mu, per server) are events per time
unit; ``abandon_rate`` (theta) is one over the mean patience; the offered load A = lambda / mu is
in Erlangs. Every time in a result is in the same time unit as the rates' denominator.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from ._birth_death import BirthDeath, birth_death_stationary
from ._metrics import AbandonmentMetrics, LossMetrics, QueueMetrics

__all__ = [
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "mm1",
    "mmc",
    "mmc_wait_cdf",
    "mmc_wait_quantile",
    "mmcc",
    "mmck",
]


def _check_rates(arrival_rate: float, service_rate: float, servers: int) -> None:
    if arrival_rate <= 0 or service_rate <= 0:
        raise ValueError("arrival_rate and service_rate must be positive (per time unit)")
    if servers < 1 or int(servers) != servers:
        raise ValueError(f"servers must be a positive integer, got {servers!r}")


def erlang_b(servers: int, offered_load: float) -> float:
    """Erlang B: blocking probability of the M/M/c/c (or M/G/c/c) loss system.

    ``offered_load`` A = lambda / mu in Erlangs. Uses the stable recursion
    ``B(0) = 1``, ``B(k) = A B(k-1) / (k + A B(k-1))``, which never overflows. The result is
    insensitive to the service-time distribution beyond its mean.
    """
    if servers < 0 or int(servers) != servers:
        raise ValueError(f"servers must be a non-negative integer, got {servers!r}")
    if offered_load < 0:
        raise ValueError("offered_load must be non-negative")
    b = 1.0
    for k in range(1, int(servers) + 1):
        b = offered_load * b / (k + offered_load * b)
    return b


def erlang_c(servers: int, offered_load: float) -> float:
    """Erlang C: probability that an arrival waits in the M/M/c queue.

    ``offered_load`` A = lambda / mu (Erlangs) must be below ``servers`` (c). Computed from
    Erlang B as ``C = c B / (c - A (1 - B))``.
    """
    if servers < 1 or int(servers) != servers:
        raise ValueError(f"servers must be a positive integer, got {servers!r}")
    if not 0 <= offered_load < servers:
        raise ValueError(
            f"the M/M/c queue is unstable: offered load {offered_load} >= {servers} servers"
        )
    b = erlang_b(servers, offered_load)
    return servers * b / (servers - offered_load * (1.0 - b))


def mmc(arrival_rate: float, service_rate: float, servers: int) -> QueueMetrics:
    """Exact steady state of the M/M/c queue (FIFO, unlimited waiting room, Erlang C).

    Needs lambda < c mu. ``wait_mean`` Wq = C / (c mu - lambda); Lq = lambda Wq;
    W = Wq + 1/mu; L = lambda W.
    """
    _check_rates(arrival_rate, service_rate, servers)
    a = arrival_rate / service_rate
    c = erlang_c(servers, a)
    wq = c / (servers * service_rate - arrival_rate)
    w = wq + 1.0 / service_rate
    return QueueMetrics(
        arrival_rate=arrival_rate,
        service_rate=service_rate,
        servers=int(servers),
        utilisation=a / servers,
        p_wait=c,
        wait_mean=wq,
        sojourn_mean=w,
        queue_mean=arrival_rate * wq,
        in_system_mean=arrival_rate * w,
    )


def mm1(arrival_rate: float, service_rate: float) -> QueueMetrics:
    """Exact steady state of the M/M/1 queue (FIFO, unlimited waiting room).

    Needs lambda < mu. With rho = lambda / mu: Wq = rho / (mu - lambda), W = 1 / (mu - lambda),
    Lq = rho^2 / (1 - rho), L = rho / (1 - rho), P(wait) = rho.
    """
    _check_rates(arrival_rate, service_rate, 1)
    if arrival_rate >= service_rate:
        raise ValueError("the M/M/1 queue is unstable: arrival_rate >= service_rate")
    rho = arrival_rate / service_rate
    w = 1.0 / (service_rate - arrival_rate)
    return QueueMetrics(
        arrival_rate=arrival_rate,
        service_rate=service_rate,
        servers=1,
        utilisation=rho,
        p_wait=rho,
        wait_mean=rho * w,
        sojourn_mean=w,
        queue_mean=rho * rho / (1.0 - rho),
        in_system_mean=rho / (1.0 - rho),
    )


def mmc_wait_cdf(
    t: float | npt.ArrayLike, arrival_rate: float, service_rate: float, servers: int
) -> float | np.ndarray:
    """``P(Wq <= t)`` in the FIFO M/M/c queue: ``1 - C exp(-(c mu - lambda) t)`` for t >= 0.

    ``t`` in the time unit of the rates (scalar or array); 0 for t < 0.
    """
    _check_rates(arrival_rate, service_rate, servers)
    c = erlang_c(servers, arrival_rate / service_rate)
    x = np.asarray(t, dtype=float)
    out = np.where(x < 0, 0.0, 1.0 - c * np.exp(-(servers * service_rate - arrival_rate) * x))
    return float(out) if out.ndim == 0 else out


def mmc_wait_quantile(q: float, arrival_rate: float, service_rate: float, servers: int) -> float:
    """The ``q`` quantile (0 < q < 1) of the FIFO M/M/c wait in queue (time unit of the rates).

    Zero when ``q <= 1 - C``; otherwise ``ln(C / (1 - q)) / (c mu - lambda)``.
    """
    if not 0 < q < 1:
        raise ValueError("q must lie in (0, 1)")
    _check_rates(arrival_rate, service_rate, servers)
    c = erlang_c(servers, arrival_rate / service_rate)
    if q <= 1.0 - c:
        return 0.0
    return math.log(c / (1.0 - q)) / (servers * service_rate - arrival_rate)


def mmcc(arrival_rate: float, service_rate: float, servers: int) -> LossMetrics:
    """The Erlang loss system M/M/c/c (no waiting room): blocking from Erlang B.

    Also exact for any service distribution with mean 1/mu (insensitivity). The mean number
    present is the carried load ``A (1 - B)``.
    """
    _check_rates(arrival_rate, service_rate, servers)
    a = arrival_rate / service_rate
    b = erlang_b(servers, a)
    thr = arrival_rate * (1.0 - b)
    return LossMetrics(
        arrival_rate=arrival_rate,
        service_rate=service_rate,
        servers=int(servers),
        capacity=int(servers),
        p_block=b,
        throughput=thr,
        utilisation=thr / (servers * service_rate),
        p_wait=0.0,
        wait_mean=0.0,
        sojourn_mean=1.0 / service_rate,
        queue_mean=0.0,
        in_system_mean=a * (1.0 - b),
    )


def mmck(arrival_rate: float, service_rate: float, servers: int, capacity: int) -> LossMetrics:
    """M/M/c/K: ``capacity`` K >= c places in all (c in service, K - c waiting), FIFO.

    Exact finite birth-death chain. ``p_wait`` is the share of *accepted* arrivals that wait;
    ``wait_mean`` and ``sojourn_mean`` are over accepted arrivals.
    """
    _check_rates(arrival_rate, service_rate, servers)
    if capacity < servers or int(capacity) != capacity:
        raise ValueError("capacity must be an integer at least equal to servers")
    n = np.arange(1, capacity + 1)
    p = birth_death_stationary(
        np.full(capacity, float(arrival_rate)), np.minimum(n, servers) * float(service_rate)
    )
    states = np.arange(capacity + 1)
    p_block = float(p[-1])
    thr = arrival_rate * (1.0 - p_block)
    lq = float(np.sum(np.maximum(states - servers, 0) * p))
    ell = float(np.sum(states * p))
    waiting = float(np.sum(p[servers:capacity]))
    return LossMetrics(
        arrival_rate=arrival_rate,
        service_rate=service_rate,
        servers=int(servers),
        capacity=int(capacity),
        p_block=p_block,
        throughput=thr,
        utilisation=thr / (servers * service_rate),
        p_wait=waiting / (1.0 - p_block),
        wait_mean=lq / thr,
        sojourn_mean=ell / thr,
        queue_mean=lq,
        in_system_mean=ell,
    )


def erlang_a(
    arrival_rate: float,
    service_rate: float,
    servers: int,
    abandon_rate: float,
    tol: float = 1e-15,
) -> AbandonmentMetrics:
    """Exact steady state of the Erlang A queue M/M/c+M (FIFO, exponential patience).

    ``abandon_rate`` theta = 1 / mean patience (per time unit); theta = 0 is Erlang C and then
    needs lambda < c mu. The number present is a birth-death chain (births lambda, deaths
    ``min(n, c) mu + max(n - c, 0) theta``), truncated where the remaining tail mass is below
    ``tol``. Then ``Lq = sum (n - c)+ p_n``, ``P(abandon) = theta Lq / lambda`` and the mean wait
    over all arrivals is ``Lq / lambda`` (Little). The mean wait of the served follows from the
    FIFO dynamics seen by an arrival finding ``j = n - c`` ahead of it in queue: with ``i`` ahead
    it moves up at rate ``a_i = c mu + i theta`` and reneges at rate theta, so it is served with
    probability ``prod_{i<=j} a_i / (a_i + theta)`` after a wait of mean
    ``sum_{i<=j} 1 / (a_i + theta)`` (phase lengths do not depend on how a phase ends).
    """
    _check_rates(arrival_rate, service_rate, servers)
    if abandon_rate < 0:
        raise ValueError("abandon_rate must be non-negative (one over the mean patience)")
    if abandon_rate == 0 and arrival_rate >= servers * service_rate:
        raise ValueError("without abandonment the queue is unstable: lambda >= c mu")
    lam, mu, th, c = float(arrival_rate), float(service_rate), float(abandon_rate), int(servers)
    chain = BirthDeath(
        birth=lambda n: lam,
        death=lambda n: min(n, c) * mu + max(n - c, 0) * th,
    )
    p = chain.stationary(tol=tol)
    if p.size <= c:  # tail negligible before all servers are busy
        p = np.concatenate([p, np.zeros(c + 1 - p.size)])
    states = np.arange(p.size)
    excess = np.maximum(states - c, 0)
    lq = float(np.sum(excess * p))
    ell = float(np.sum(states * p))
    p_wait = float(np.sum(p[c:]))
    j = np.arange(p.size - c)  # number ahead in queue of an arrival finding c + j present
    adv = c * mu + j * th
    survive = np.cumprod(adv / (adv + th))
    mean_wait = np.cumsum(1.0 / (adv + th))
    served_share = float(np.sum(p[:c]) + np.sum(p[c:] * survive))
    wait_served = float(np.sum(p[c:] * survive * mean_wait)) / served_share
    p_abandon = th * lq / lam
    thr = lam * (1.0 - p_abandon)
    return AbandonmentMetrics(
        arrival_rate=lam,
        service_rate=mu,
        servers=c,
        abandon_rate=th,
        p_abandon=p_abandon,
        p_wait=p_wait,
        wait_mean=lq / lam,
        wait_mean_served=wait_served,
        queue_mean=lq,
        in_system_mean=ell,
        throughput=thr,
        utilisation=thr / (c * mu),
    )
