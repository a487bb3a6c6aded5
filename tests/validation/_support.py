"""Shared helpers of the statistical validation suite: specs, runs, and the comparison rule.

Every test compares a simulated mean with an exact theoretical value through the t interval of
independent replications. The rule, used everywhere through :func:`check`:

- a 99 % interval from independent replications (each replication starts afresh with its own
  streams, so replication means are i.i.d.; batch-size-free, no autocorrelation issue);
- plus a stated bias allowance ``bias`` (absolute, in the KPI's unit) for what replications
  cannot average away: the warm-up transient left after truncation, finite-horizon edge effects
  and the O(1/n) bias of ratio estimators. Each test justifies its allowance;
- a power guard: the tolerance (half-width + bias) must stay below ``power`` of the theory
  value. At the usual 3 %, a 5 % error in an engine lies about 1.7 tolerances (4.4 standard
  errors) away from theory and fails the test with probability above 0.95 (a test that cannot
  fail would be a defect). KPIs whose estimates are intrinsically noisy (mean waits of M/M/c,
  per-station waits in networks) get a wider guard, stated and justified where used, and are
  always paired with a sharp check of the same model.

Seeds are fixed, so each test is deterministic for a given engine build.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twinsight.experiment import ExperimentResult, Interval, run_experiment, t_interval
from twinsight.spec import FlowSpec, load_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CONFIDENCE = 0.99


def example(name: str) -> FlowSpec:
    """A validation spec from examples/."""
    return load_spec(EXAMPLES / f"{name}.yaml")


def simulate(
    spec: FlowSpec, engine: str, reps: int, seed: int, horizon: float, warmup: float
) -> ExperimentResult:
    return run_experiment(
        spec,
        reps=reps,
        seed=seed,
        engine=engine,
        horizon=horizon,
        warmup=warmup,
        confidence=CONFIDENCE,
    )


def check(
    label: str,
    values: np.ndarray | Interval,
    theory: float,
    bias: float = 0.0,
    power: float = 0.03,
    report: dict[str, str] | None = None,
) -> None:
    """Assert ``|mean - theory| <= half_width(99 %) + bias`` and that the test has power.

    ``values`` are per-replication values (or an interval already computed at 99 %).
    """
    iv = values if isinstance(values, Interval) else t_interval(values, CONFIDENCE)
    tol = iv.half_width + bias
    line = (
        f"{label}: sim {iv.mean:.5g} +- {iv.half_width:.3g} (99%, n={iv.n}), bias allowance "
        f"{bias:.3g}, theory {theory:.5g}, error {100 * (iv.mean - theory) / theory:+.2f}% "
        f"(tolerance {100 * tol / abs(theory):.2f}%)"
    )
    print(line)
    if report is not None:
        report[label] = line
    assert tol <= power * abs(theory), f"test too weak to catch a 5% error: {line}"
    assert abs(iv.mean - theory) <= tol, line
