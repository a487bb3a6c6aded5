"""A compartmental model: compartments, transitions with per-capita rates, the initial state,
and interventions that scale a parameter from a day on.

Time is in days throughout; a rate is per day. A transition's per-capita rate (the hazard of
one individual in its source compartment) is the product of its ``rate`` factors, each a
parameter name (``"R0"``), its reciprocal (``"/infectious_days"``: a duration in days becomes a
rate per day) or its complement (``"1-p_hosp"``), times, for infection, the force of infection
``sum(x[force]) / N`` with ``N`` the population at day 0. So ``S -> E`` at ``R0 / D * I / N``
is ``Transition("S", "E", ("R0", "/infectious_days"), force=("I",))``.

Parameter values are floats or arrays of shape ``(B,)``: ``B`` parameter sets run side by side
(a batch: the finite differences of a fit, the draws of an ensemble). ``coefficients`` turns
them, with the interventions, into the per-day factor of every transition, shape ``(T, B, K)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

__all__ = ["CompartmentModel", "Intervention", "ParamValue", "Params", "Transition"]

#: A parameter value: one number, or one per parameter set of a batch (shape ``(B,)``).
ParamValue = float | np.ndarray
Params = Mapping[str, ParamValue]


@dataclass(frozen=True)
class Transition:
    """Individuals move from ``src`` to ``dst`` at per-capita rate ``prod(rate) * force``
    (per day; see the module docstring for the factor syntax)."""

    src: str
    dst: str
    rate: tuple[str, ...]
    force: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``"src->dst"``: how observations name a flow."""
        return f"{self.src}->{self.dst}"


@dataclass(frozen=True)
class Intervention:
    """From ``day`` on (days after day 0, may be fractional: it applies to the steps that
    start at or after it), parameter ``param`` is multiplied by ``factor``: a number or the
    name of a parameter (which a fit can then estimate)."""

    param: str
    day: float
    factor: float | str


def _factor_name(factor: str) -> str:
    if factor.startswith("/"):
        return factor[1:]
    if factor.startswith("1-"):
        return factor[2:]
    return factor


@dataclass(frozen=True)
class CompartmentModel:
    """Compartments (ordered), transitions between them, and the initial state.

    ``initial`` maps compartments to a number or a parameter name (their count at day 0);
    ``remainder`` (default the first compartment) holds ``population`` (a parameter name)
    less the others.
    """

    compartments: tuple[str, ...]
    transitions: tuple[Transition, ...]
    initial: Mapping[str, float | str] = field(default_factory=dict)
    population: str = "population"
    remainder: str | None = None

    def __post_init__(self) -> None:
        names = set(self.compartments)
        if len(names) != len(self.compartments):
            raise ValueError("compartment names must be unique")
        for t in self.transitions:
            for c in (t.src, t.dst, *t.force):
                if c not in names:
                    raise ValueError(f"transition {t.label} names '{c}', not a compartment")
            if t.src == t.dst:
                raise ValueError(f"transition {t.label} goes nowhere")
        for c in self.initial:
            if c not in names:
                raise ValueError(f"initial state names '{c}', not a compartment")
        if self.remainder is not None and self.remainder not in names:
            raise ValueError(f"remainder '{self.remainder}' is not a compartment")

    # -- structure as arrays ------------------------------------------------------------------
    @cached_property
    def labels(self) -> tuple[str, ...]:
        """The transitions' labels (``src->dst``), in order."""
        return tuple(t.label for t in self.transitions)

    def index(self, compartment: str) -> int:
        """The position of ``compartment`` in ``compartments``."""
        return self.compartments.index(compartment)

    def flow_index(self, label: str) -> int:
        """The position of the transition ``src->dst``."""
        try:
            return self.labels.index(label)
        except ValueError:
            raise ValueError(
                f"no transition '{label}': choose one of {', '.join(self.labels)}"
            ) from None

    def parameters(self) -> list[str]:
        """Every parameter name the model uses (rates, initial state, population)."""
        out: list[str] = [self.population]
        for t in self.transitions:
            out.extend(_factor_name(f) for f in t.rate)
        out.extend(v for v in self.initial.values() if isinstance(v, str))
        return list(dict.fromkeys(out))

    def matrices(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``src`` and ``dst`` one-hot matrices (K x C) and the force mask (K x C)."""
        k, c = len(self.transitions), len(self.compartments)
        src, dst, force = np.zeros((k, c)), np.zeros((k, c)), np.zeros((k, c))
        for i, t in enumerate(self.transitions):
            src[i, self.index(t.src)] = 1.0
            dst[i, self.index(t.dst)] = 1.0
            for f in t.force:
                force[i, self.index(f)] = 1.0
        return src, dst, force

    # -- values -------------------------------------------------------------------------------
    def batch_size(self, params: Params) -> int:
        """``B``: the length of the array-valued parameters (1 if all are numbers)."""
        sizes = {np.size(v) for v in params.values() if np.ndim(v) > 0}
        if len(sizes) > 1:
            raise ValueError(f"array parameters must share one length, got {sorted(sizes)}")
        return sizes.pop() if sizes else 1

    def initial_state(self, params: Params) -> np.ndarray:
        """The state at day 0, shape ``(B, C)`` (counts, not necessarily whole)."""
        b = self.batch_size(params)
        x = np.zeros((b, len(self.compartments)))
        for c, v in self.initial.items():
            x[:, self.index(c)] = _value(params, v)
        rest = self.remainder or self.compartments[0]
        if rest not in self.initial:
            n = np.broadcast_to(np.asarray(_value(params, self.population), dtype=float), (b,))
            # never below zero (an optimiser may try a seed above the population)
            x[:, self.index(rest)] = np.maximum(n - x.sum(axis=1), 0.0)
        if np.any(x < 0):
            raise ValueError("the initial state has a negative count")
        return x

    def coefficients(
        self, params: Params, days: int, interventions: Sequence[Intervention] = ()
    ) -> np.ndarray:
        """Each transition's rate factor on each day: shape ``(days, B, K)`` (per day; the
        force of infection is applied in the step). Interventions multiply their parameter
        from their day on: the days fall into segments of constant parameters."""
        b = self.batch_size(params)
        starts = sorted({max(0, int(np.ceil(iv.day - 1e-9))) for iv in interventions} | {0})
        out = np.empty((days, b, len(self.transitions)))
        for i, first in enumerate(starts):
            last = starts[i + 1] if i + 1 < len(starts) else days
            if first >= min(last, days):
                continue
            factors: dict[str, ParamValue] = {}
            for iv in interventions:
                if max(0, int(np.ceil(iv.day - 1e-9))) <= first:
                    factors[iv.param] = factors.get(iv.param, 1.0) * _value(params, iv.factor)
            out[first:last] = self._segment(params, factors, b)
        return out

    def _segment(self, params: Params, factors: Mapping[str, ParamValue], b: int) -> np.ndarray:
        """The transitions' rate factors ``(B, K)`` with parameters multiplied by ``factors``."""
        seg = np.ones((b, len(self.transitions)))
        for k, t in enumerate(self.transitions):
            for f in t.rate:
                name = _factor_name(f)
                v = _value(params, name)
                if name in factors:
                    v = v * factors[name]
                if f.startswith("/"):
                    seg[:, k] /= v
                elif f.startswith("1-"):
                    seg[:, k] *= 1.0 - v
                else:
                    seg[:, k] *= v
        return seg


def _value(params: Params, v: float | str) -> ParamValue:
    if isinstance(v, str):
        try:
            return params[v]
        except KeyError:
            raise ValueError(f"parameter '{v}' has no value") from None
    return float(v)
