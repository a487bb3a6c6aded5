"""Open Jackson networks: Poisson arrivals, exponential service, Markov routing, M/M/c nodes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..spec import EXIT, Exponential, FlowSpec, PoissonArrivals
from ._erlang import erlang_c

__all__ = ["JacksonNetwork", "jackson_from_spec", "jackson_network", "traffic_equations"]


def traffic_equations(external: npt.ArrayLike, routing: npt.ArrayLike) -> np.ndarray:
    """Total arrival rates lambda solving ``lambda = gamma + lambda P``.

    ``external`` gamma[i]: external arrivals per time unit at node i; ``routing`` P[i, j]:
    probability of going from i to j after service (rows may sum to less than one: the rest
    leaves). Raises ``ValueError`` when some entities would never leave (I - P singular).
    """
    gamma = np.asarray(external, dtype=float)
    p = np.asarray(routing, dtype=float)
    k = gamma.size
    if p.shape != (k, k):
        raise ValueError(f"routing must be {k}x{k} for {k} nodes, got {p.shape}")
    if np.any(gamma < 0) or np.any(p < 0) or np.any(p.sum(axis=1) > 1 + 1e-9):
        raise ValueError("need gamma >= 0, P >= 0 and row sums of P at most 1")
    a = np.eye(k) - p
    if np.linalg.matrix_rank(a) < k:
        raise ValueError("I - P is singular: some entities would cycle for ever and never leave")
    return np.asarray(np.linalg.solve(a.T, gamma), dtype=float)


@dataclass(frozen=True)
class JacksonNetwork:
    """Steady state of an open Jackson network, node by node (arrays indexed like the input).

    Rates per time unit, times in the same unit. Per node: ``arrival_rates`` lambda_i (visits per
    time unit), ``visits`` (mean visits per entity, lambda_i / Gamma), ``utilisation``
    (lambda_i / (c_i mu_i); 0 for infinite-server nodes), ``p_wait``, ``wait_mean`` (Wq per
    visit), ``sojourn_mean`` (W per visit, wait plus service), ``queue_mean`` (Lq) and
    ``in_system_mean`` (L). Network: ``external_rate`` Gamma = sum gamma_i,
    ``network_in_system`` = sum L_i and ``network_sojourn`` = sum L_i / Gamma, the mean time
    from entering to leaving (Little's law for the whole network).
    """

    arrival_rates: np.ndarray
    visits: np.ndarray
    utilisation: np.ndarray
    p_wait: np.ndarray
    wait_mean: np.ndarray
    sojourn_mean: np.ndarray
    queue_mean: np.ndarray
    in_system_mean: np.ndarray
    external_rate: float
    network_in_system: float
    network_sojourn: float


def jackson_network(
    external: npt.ArrayLike,
    routing: npt.ArrayLike,
    service_rates: npt.ArrayLike,
    servers: Sequence[int | None],
) -> JacksonNetwork:
    """Solve an open Jackson network: each node behaves as an independent M/M/c_i queue.

    ``external`` gamma_i and ``service_rates`` mu_i (per server) per time unit; ``routing``
    P[i, j] as in :func:`traffic_equations`; ``servers`` c_i, or ``None`` for an infinite-server
    node (a pure delay: L = lambda / mu, no wait). Every finite node needs lambda_i < c_i mu_i.
    """
    lam = traffic_equations(external, routing)
    mu = np.asarray(service_rates, dtype=float)
    if mu.shape != lam.shape or len(servers) != lam.size:
        raise ValueError("service_rates and servers need one entry per node")
    if np.any(mu <= 0):
        raise ValueError("service rates must be positive")
    k = lam.size
    util, pw, wq, w, lq, ell = (np.zeros(k) for _ in range(6))
    for i in range(k):
        c = servers[i]
        if c is None:
            w[i] = 1.0 / mu[i]
            ell[i] = lam[i] / mu[i]
            continue
        if lam[i] >= c * mu[i]:
            raise ValueError(
                f"node {i} is unstable: arrival rate {lam[i]:g} >= {c} x service rate {mu[i]:g}"
            )
        util[i] = lam[i] / (c * mu[i])
        if lam[i] == 0:
            w[i] = 1.0 / mu[i]
            continue
        pw[i] = erlang_c(c, lam[i] / mu[i])
        wq[i] = pw[i] / (c * mu[i] - lam[i])
        w[i] = wq[i] + 1.0 / mu[i]
        lq[i] = lam[i] * wq[i]
        ell[i] = lam[i] * w[i]
    total = float(np.sum(np.asarray(external, dtype=float)))
    if total <= 0:
        raise ValueError("no external arrivals: the network is empty")
    return JacksonNetwork(
        arrival_rates=lam,
        visits=lam / total,
        utilisation=util,
        p_wait=pw,
        wait_mean=wq,
        sojourn_mean=w,
        queue_mean=lq,
        in_system_mean=ell,
        external_rate=total,
        network_in_system=float(ell.sum()),
        network_sojourn=float(ell.sum()) / total,
    )


def jackson_from_spec(spec: FlowSpec) -> JacksonNetwork:
    """The Jackson network a flow spec describes, with nodes in ``spec.station_names()`` order.

    The spec must be one: constant-rate Poisson arrivals without batches, exponential service,
    a single class routing (``routing``, no ``becomes``), no patience or finite queues, and each
    station using one unit of its own fixed-capacity resource (or none: an infinite-server
    delay). Raises ``ValueError`` naming what does not fit.
    """
    if len(spec.classes) != 1:
        raise ValueError("a Jackson network has a single class of entity")
    names = spec.station_names()
    idx = {s: i for i, s in enumerate(names)}
    k = len(names)
    gamma = np.zeros(k)
    for arr in spec.arrivals:
        if not isinstance(arr, PoissonArrivals) or arr.rate is None or arr.batch is not None:
            raise ValueError(f"arrival stream {arr.name!r} is not constant-rate Poisson")
        gamma[idx[arr.to]] += arr.rate
    p = np.zeros((k, k))
    mu = np.zeros(k)
    servers: list[int | None] = []
    owner: dict[str, str] = {}
    for s, st in spec.stations.items():
        i = idx[s]
        if st.service_by_class or st.routing_by_class or st.patience or st.patience_by_class:
            raise ValueError(f"station {s!r} has class-dependent behaviour or patience")
        if st.queue_capacity is not None or st.release_window is not None:
            raise ValueError(f"station {s!r} has a finite queue or a release window")
        if st.release_hours is not None or st.alternatives or st.on_wait is not None:
            raise ValueError(
                f"station {s!r} has release hours, alternative resources or a wait offer"
            )
        if st.blocking:
            raise ValueError(f"station {s!r} blocks (a Jackson network never blocks)")
        if not isinstance(st.service, Exponential):
            raise ValueError(f"station {s!r} does not have exponential service")
        mu[i] = 1.0 / st.service.mean
        if not st.resources:
            servers.append(None)
        else:
            if len(st.resources) != 1:
                raise ValueError(f"station {s!r} needs several resources")
            ((res, amount),) = st.resources.items()
            r = spec.resources[res]
            if amount != 1 or r.capacity is None or res in owner:
                raise ValueError(
                    f"station {s!r}: resource {res!r} must be used one unit at a time, have a "
                    "fixed capacity and serve no other station"
                )
            owner[res] = s
            servers.append(r.capacity)
        for row in st.routes_for(spec.class_names()[0]):
            if row.becomes is not None:
                raise ValueError(f"station {s!r} changes classes in its routing")
            if row.to != EXIT:
                p[i, idx[row.to]] += row.p
    return jackson_network(gamma, p, mu, servers)
