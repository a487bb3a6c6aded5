"""Solving a compartmental model day by day: deterministic (difference equations or ODE) and
stochastic (binomial chain), each for a batch of parameter sets at once.

Forms (``method``), with ``dt = 1 / substeps`` days and ``h`` each transition's per-capita
rate at the start of the sub-step:

- ``"difference"``: the mean of the binomial chain below. An individual leaves compartment
  ``c`` with probability ``1 - exp(-H_c dt)`` (``H_c``: the sum of ``c``'s outgoing rates), to
  each transition in proportion to its rate. Counts never go negative, whatever the step.
- ``"euler"``: ``flow = x_src * h * dt`` (the classic discrete SIR form; CHIME's).
- ``"ode"``: ``dx/dt = sum of flows`` integrated by classical Runge-Kutta (order 4) with
  ``substeps`` steps a day; the daily flows are integrated with the same weights.

The deterministic loop is compiled by numba (``_kernel``). The stochastic form draws the
number leaving each compartment from a binomial and splits it
between the compartment's transitions by conditional binomials (a multinomial): every run is a
row of one array, so a step is a handful of vectorised draws for all runs together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ._kernel import METHOD_DIFFERENCE, METHOD_EULER, METHOD_ODE, solve
from ._model import CompartmentModel, Intervention, Params

__all__ = ["Method", "Trajectory", "simulate", "simulate_stochastic"]

Method = Literal["difference", "euler", "ode"]
_METHODS = {"difference": METHOD_DIFFERENCE, "euler": METHOD_EULER, "ode": METHOD_ODE}


@dataclass(frozen=True)
class Trajectory:
    """Daily output of a batch of runs: ``states`` at the start of each day ``(B, T+1, C)``
    and ``flows`` moved during each day ``(B, T, K)`` (counts of individuals)."""

    model: CompartmentModel
    states: np.ndarray
    flows: np.ndarray

    @property
    def days(self) -> int:
        """``T``, the number of days simulated."""
        return int(self.flows.shape[1])

    def compartment(self, *names: str) -> np.ndarray:
        """The sum of these compartments at the start of each day: ``(B, T+1)``."""
        idx = [self.model.index(n) for n in names]
        return np.asarray(self.states[:, :, idx].sum(axis=2))

    def flow(self, *labels: str) -> np.ndarray:
        """The sum of these transitions (``"I->H"``) over each day: ``(B, T)``."""
        idx = [self.model.flow_index(lab) for lab in labels]
        return np.asarray(self.flows[:, :, idx].sum(axis=2))


class _Structure:
    """The model's matrices, cached per model (they never change)."""

    def __init__(self, model: CompartmentModel) -> None:
        src, dst, force = model.matrices()
        self.src, self.src_t, self.force_t = src, src.T.copy(), force.T.copy()
        self.force = np.ascontiguousarray(force)
        self.src_idx = np.array([model.index(t.src) for t in model.transitions], dtype=np.int64)
        self.dst_idx = np.array([model.index(t.dst) for t in model.transitions], dtype=np.int64)
        self.delta = dst - src
        self.has_force = force.sum(axis=1) > 0
        self.any_force = bool(self.has_force.any())
        # transitions grouped by source, for the conditional binomial split
        by_src: dict[int, list[int]] = {}
        for k, t in enumerate(model.transitions):
            by_src.setdefault(model.index(t.src), []).append(k)
        self.groups = by_src
        depth = max((len(v) for v in by_src.values()), default=0)
        # level j: the j-th transition of every source with more than j + 1 transitions
        self.levels: list[tuple[np.ndarray, np.ndarray, list[list[int]]]] = []
        for j in range(depth - 1):
            deep = {c: v for c, v in by_src.items() if len(v) > j + 1}
            self.levels.append(
                (
                    np.array([v[j] for v in deep.values()]),
                    np.array(list(deep.keys())),
                    [v[j + 1 :] for v in deep.values()],
                )
            )
        self.last = np.array([v[-1] for v in by_src.values()])
        self.last_src = np.array(list(by_src.keys()))


_CACHE: dict[int, tuple[CompartmentModel, _Structure]] = {}


def _structure(model: CompartmentModel) -> _Structure:
    hit = _CACHE.get(id(model))
    if hit is None or hit[0] is not model:
        if len(_CACHE) >= 64:  # models made on the fly: keep the cache small
            _CACHE.clear()
        hit = (model, _Structure(model))
        _CACHE[id(model)] = hit
    return hit[1]


def _rates(s: _Structure, coef: np.ndarray, x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Per-capita rates ``(B, K)``: the day's coefficients times the force of infection."""
    if not s.any_force:
        return coef
    return np.asarray(coef * np.where(s.has_force, (x @ s.force_t) / n, 1.0))


def simulate(
    model: CompartmentModel,
    params: Params,
    days: int,
    *,
    interventions: Sequence[Intervention] = (),
    method: Method = "difference",
    substeps: int | None = None,
    x0: np.ndarray | None = None,
) -> Trajectory:
    """Deterministic solution over ``days`` days for every parameter set of the batch.

    ``substeps`` per day: default 1 for ``difference`` and ``euler`` (a daily model), 8 for
    ``ode``. ``x0`` (``(B, C)``) replaces the model's initial state.
    """
    if days < 0:
        raise ValueError("days must be >= 0")
    steps = substeps or (8 if method == "ode" else 1)
    if steps < 1:
        raise ValueError("substeps must be >= 1")
    s = _structure(model)
    coef = model.coefficients(params, days, interventions)
    x = model.initial_state(params) if x0 is None else np.array(x0, dtype=float, ndmin=2)
    b = max(x.shape[0], coef.shape[1])
    x = np.ascontiguousarray(np.broadcast_to(x, (b, x.shape[1])), dtype=float)
    coef = np.ascontiguousarray(np.broadcast_to(coef, (days, b, coef.shape[2])))
    states, flows = solve(
        coef, x, s.src_idx, s.dst_idx, s.force, s.has_force, steps, _METHODS[method]
    )
    return Trajectory(model, states, flows)


def simulate_stochastic(
    model: CompartmentModel,
    params: Params,
    days: int,
    runs: int,
    rng: np.random.Generator,
    *,
    interventions: Sequence[Intervention] = (),
    substeps: int = 1,
    x0: np.ndarray | None = None,
    day_rng: Callable[[int], np.random.Generator] | None = None,
) -> Trajectory:
    """``runs`` realisations of the binomial chain over ``days`` days (``substeps`` per day).

    Parameters may be numbers (shared by all runs) or arrays of length ``runs`` (one set per
    run: parameter uncertainty). The initial state (the model's, or ``x0`` of shape ``(C,)``
    or ``(runs, C)``) is rounded to whole individuals. Draws come only from ``rng``: the same
    generator state gives the same runs. ``day_rng(t)``, when given, supplies day ``t``'s
    draws instead: common random numbers for variants that differ from a day on (a binomial
    draw uses a variable number of uniforms, so one stream would drift apart for good after
    the first difference; a stream per day re-aligns the variants every day).
    """
    if runs < 1 or days < 0 or substeps < 1:
        raise ValueError("runs and substeps must be >= 1 and days >= 0")
    s = _structure(model)
    coef = model.coefficients(params, days, interventions)
    if coef.shape[1] not in (1, runs):
        raise ValueError(f"parameter arrays have length {coef.shape[1]}, not runs={runs}")
    start = model.initial_state(params) if x0 is None else np.array(x0, dtype=float, ndmin=2)
    x = np.broadcast_to(np.rint(start).astype(np.int64), (runs, start.shape[1])).copy()
    n = np.maximum(x.sum(axis=1, keepdims=True), 1).astype(float)
    dt = 1.0 / substeps
    k_count = len(model.transitions)
    states = np.empty((runs, days + 1, x.shape[1]), dtype=np.int64)
    flows = np.zeros((runs, days, k_count), dtype=np.int64)
    states[:, 0] = x
    delta = s.delta.astype(np.int64)
    for t in range(days):
        c = coef[t]
        if day_rng is not None:
            rng = day_rng(t)
        for _ in range(substeps):
            h = np.broadcast_to(_rates(s, c, x, n), (runs, k_count))
            total = h @ s.src
            leave = rng.binomial(x, -np.expm1(-total * dt))
            f = np.zeros((runs, k_count), dtype=np.int64)
            remaining = leave.copy()
            for ks, srcs, rest in s.levels:
                denom = np.stack([h[:, r].sum(axis=1) for r in rest], axis=1) + h[:, ks]
                p = np.divide(h[:, ks], denom, out=np.zeros_like(denom), where=denom > 0)
                drawn = rng.binomial(remaining[:, srcs], p)
                f[:, ks] = drawn
                remaining[:, srcs] -= drawn
            f[:, s.last] = remaining[:, s.last_src]
            flows[:, t] += f
            x = x + f @ delta
        states[:, t + 1] = x
    return Trajectory(model, states.astype(float), flows.astype(float))
