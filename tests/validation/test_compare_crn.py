"""Scenario comparison with common random numbers against Erlang C, on the staffing example
(examples/scenarios/staffing.yaml: M/M/9, lambda = 1.6/min, mean service 5 min, rho = 0.889)
and its scenario 'one more agent' (M/M/10).

1. The paired difference of the mean wait matches theory: Erlang C gives Wq = 3.2666 min with
   9 agents and 1.0230 min with 10, a difference of -2.2437 min. Rule of the suite (``check``):
   the 99 % interval of the paired differences plus a bias allowance must contain it. Bias: the
   relaxation time at rho = 0.889 with 9 servers is of the order of 1 / (c mu (1 - sqrt(rho))^2)
   = 170 min; the 2 000 min warm-up is 12 of them, leaving a start-up bias below 1e-5 of Wq,
   and window edge effects are O(Wq / T) = 2e-4: allowance 0.5 % of the difference. Power guard
   10 % (a mean wait of a heavily loaded M/M/c is a noisy KPI: relative variance ~250 per
   customer; the sharp Erlang C checks of the engines are in test_mmc.py).
2. Common random numbers narrow the interval: the same replications run with independent
   streams (another seed for the scenario) give a wider interval of the difference. The
   variance of a paired difference is s0^2 + s1^2 - 2 rho s0 s1; with the correlation the
   shared arrivals and service times induce (measured rho = 0.86 here) the paired variance must
   be at most 75 % of the independent s0^2 + s1^2 (it is 62 % at this seed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twinsight import theory
from twinsight.decide import compare, load_scenario, spec_variants
from twinsight.experiment import run_experiment, t_interval
from twinsight.spec import load_spec

from ._support import CONFIDENCE, check

SCENARIOS = Path(__file__).resolve().parents[2] / "examples" / "scenarios"
REPS, SEED = 40, 5


def test_paired_difference_matches_erlang_c_and_crn_narrows_it() -> None:
    spec = load_spec(SCENARIOS / "staffing.yaml")
    more = load_scenario(SCENARIOS / "staffing-one-more-agent.yaml")
    variants = spec_variants(spec, [more])
    comp = compare(variants, reps=REPS, seed=SEED, kpis=["wait_mean"], confidence=CONFIDENCE)
    diff = comp.difference(1, "wait_mean")
    want = theory.mmc(1.6, 0.2, 10).wait_mean - theory.mmc(1.6, 0.2, 9).wait_mean
    assert abs(want - (1.0230 - 3.2666)) < 1e-3
    check("paired difference of Wq", diff, want, bias=0.005 * abs(want), power=0.10)

    base, scen = comp.values[0]["wait_mean"], comp.values[1]["wait_mean"]
    independent_var = base.var(ddof=1) + scen.var(ddof=1)
    assert diff.var(ddof=1) <= 0.75 * independent_var, (diff.var(ddof=1), independent_var)
    assert np.corrcoef(base, scen)[0, 1] > 0.5
    # the same comparison with independent streams for the scenario: a wider interval
    other = run_experiment(variants[1].spec, REPS, SEED + 1)
    unpaired = t_interval(other.per_rep["wait_mean"] - base, CONFIDENCE)
    assert t_interval(diff, CONFIDENCE).half_width < unpaired.half_width
