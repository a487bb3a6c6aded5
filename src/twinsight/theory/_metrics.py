"""Result records of the steady-state formulas: plain frozen dataclasses of floats."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AbandonmentMetrics", "LossMetrics", "QueueMetrics"]


@dataclass(frozen=True)
class QueueMetrics:
    """Steady state of a queue without losses (every arrival is eventually served).

    Rates are per time unit; times are in the same time unit.

    - ``arrival_rate`` lambda, ``service_rate`` mu (per server), ``servers`` c;
    - ``utilisation`` rho = lambda / (c mu), the long-run share of busy servers;
    - ``p_wait``: probability that an arrival waits (PASTA);
    - ``wait_mean`` Wq (time in queue), ``sojourn_mean`` W = Wq + 1/mu;
    - ``queue_mean`` Lq = lambda Wq, ``in_system_mean`` L = lambda W (Little's law).
    """

    arrival_rate: float
    service_rate: float
    servers: int
    utilisation: float
    p_wait: float
    wait_mean: float
    sojourn_mean: float
    queue_mean: float
    in_system_mean: float


@dataclass(frozen=True)
class LossMetrics:
    """Steady state of a queue with finite room (M/M/c/K; K = c is the Erlang loss system).

    - ``p_block``: probability that an arrival finds the system full and is lost (PASTA);
    - ``throughput``: accepted (and served) entities per time unit, lambda (1 - p_block);
    - ``utilisation``: share of busy servers, throughput / (c mu);
    - ``wait_mean``: mean time in queue of the accepted entities (time unit);
    - ``queue_mean``, ``in_system_mean``: time-average numbers waiting / present.
    """

    arrival_rate: float
    service_rate: float
    servers: int
    capacity: int
    p_block: float
    throughput: float
    utilisation: float
    p_wait: float
    wait_mean: float
    sojourn_mean: float
    queue_mean: float
    in_system_mean: float


@dataclass(frozen=True)
class AbandonmentMetrics:
    """Steady state of the Erlang A queue M/M/c+M (exponential patience).

    Rates per time unit, times in the same unit.

    - ``p_abandon``: share of arrivals that renege before service;
    - ``p_wait``: share of arrivals that find all servers busy (and so join the queue);
    - ``wait_mean``: mean time in queue over all arrivals (those who abandon count their time
      until they leave), Lq / lambda;
    - ``wait_mean_served``: mean wait of the entities that get served (what a simulation's
      ``wait_mean[s]`` reports);
    - ``queue_mean`` Lq, ``in_system_mean`` L: time-average numbers waiting / present;
    - ``throughput``: served per time unit, lambda (1 - p_abandon);
    - ``utilisation``: share of busy servers, throughput / (c mu).
    """

    arrival_rate: float
    service_rate: float
    servers: int
    abandon_rate: float
    p_abandon: float
    p_wait: float
    wait_mean: float
    wait_mean_served: float
    queue_mean: float
    in_system_mean: float
    throughput: float
    utilisation: float
