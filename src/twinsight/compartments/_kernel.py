"""The deterministic solver's loop, compiled by numba (cached on disk after the first run).

A fit solves the model hundreds of times for a handful of parameter sets; in NumPy each day
costs a dozen array calls whatever the batch, here it costs a few scalar loops. The formulas
are those of ``_solve`` (its docstring): ``METHOD_DIFFERENCE``, ``METHOD_EULER``, ``METHOD_ODE``.
"""

from __future__ import annotations

import math

import numpy as np

from ..engines.fast._jit import kernel

__all__ = ["METHOD_DIFFERENCE", "METHOD_EULER", "METHOD_ODE", "solve"]

METHOD_DIFFERENCE = 0
METHOD_EULER = 1
METHOD_ODE = 2


@kernel
def _rate_flows(
    coef: np.ndarray,
    x: np.ndarray,
    n: float,
    src: np.ndarray,
    force: np.ndarray,
    has_force: np.ndarray,
    out: np.ndarray,
) -> None:
    """``out[k] = x[src[k]] * h[k]``: the flow rates (per day) at state ``x``."""
    k_count, c_count = force.shape
    for k in range(k_count):
        h = coef[k]
        if has_force[k]:
            s = 0.0
            for c in range(c_count):
                s += force[k, c] * x[c]
            h *= s / n
        out[k] = x[src[k]] * h


@kernel
def solve(
    coef: np.ndarray,
    x0: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    force: np.ndarray,
    has_force: np.ndarray,
    steps: int,
    method: int,
) -> tuple[np.ndarray, np.ndarray]:
    """States ``(B, T+1, C)`` and daily flows ``(B, T, K)`` for coefficients ``(T, B, K)``
    and initial states ``(B, C)``; ``steps`` sub-steps a day."""
    days, batch, k_count = coef.shape
    c_count = x0.shape[1]
    states = np.empty((batch, days + 1, c_count))
    flows = np.zeros((batch, days, k_count))
    dt = 1.0 / steps
    x = np.empty(c_count)
    y = np.empty(c_count)
    f = np.empty(k_count)
    r1 = np.empty(k_count)
    r2 = np.empty(k_count)
    r3 = np.empty(k_count)
    r4 = np.empty(k_count)
    total = np.empty(c_count)
    for b in range(batch):
        n = 0.0
        for c in range(c_count):
            x[c] = x0[b, c]
            n += x0[b, c]
            states[b, 0, c] = x0[b, c]
        if n <= 0.0:
            n = 1.0
        for t in range(days):
            cf = coef[t, b]
            for _ in range(steps):
                if method == METHOD_ODE:
                    _rate_flows(cf, x, n, src, force, has_force, r1)
                    for c in range(c_count):
                        y[c] = x[c]
                    for k in range(k_count):
                        y[src[k]] -= 0.5 * dt * r1[k]
                        y[dst[k]] += 0.5 * dt * r1[k]
                    _rate_flows(cf, y, n, src, force, has_force, r2)
                    for c in range(c_count):
                        y[c] = x[c]
                    for k in range(k_count):
                        y[src[k]] -= 0.5 * dt * r2[k]
                        y[dst[k]] += 0.5 * dt * r2[k]
                    _rate_flows(cf, y, n, src, force, has_force, r3)
                    for c in range(c_count):
                        y[c] = x[c]
                    for k in range(k_count):
                        y[src[k]] -= dt * r3[k]
                        y[dst[k]] += dt * r3[k]
                    _rate_flows(cf, y, n, src, force, has_force, r4)
                    for k in range(k_count):
                        f[k] = dt / 6.0 * (r1[k] + 2.0 * r2[k] + 2.0 * r3[k] + r4[k])
                elif method == METHOD_EULER:
                    _rate_flows(cf, x, n, src, force, has_force, r1)
                    for k in range(k_count):
                        f[k] = dt * r1[k]
                else:
                    # r1[k] = x[src] * h[k]; the per-capita rate is r1[k] / x[src] when x > 0
                    for c in range(c_count):
                        total[c] = 0.0
                    for k in range(k_count):
                        h = cf[k]
                        if has_force[k]:
                            s = 0.0
                            for c in range(c_count):
                                s += force[k, c] * x[c]
                            h *= s / n
                        r1[k] = h
                        total[src[k]] += h
                    for k in range(k_count):
                        tot = total[src[k]]
                        if tot > 0.0:
                            f[k] = x[src[k]] * -math.expm1(-tot * dt) * r1[k] / tot
                        else:
                            f[k] = 0.0
                for k in range(k_count):
                    flows[b, t, k] += f[k]
                    x[src[k]] -= f[k]
                    x[dst[k]] += f[k]
            for c in range(c_count):
                states[b, t + 1, c] = x[c]
    return states, flows
