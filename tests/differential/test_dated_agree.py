"""Differential test for dated arrival rates (``profile.dated``): the fast and the reference
engine simulate the same queueing network fed by a rate that rises and falls over days, beside a
weekly-profile stream and a constant one.

Tolerance as in ``test_engines_agree.py``: independent samples (different seeds), every KPI
compared with Welch's t-test at a family-wise level of 1% (Bonferroni), so correct engines fail
with probability at most 1%; KPIs constant in both samples must be equal.
"""

from __future__ import annotations

import math

import pytest

from twinsight.experiment import run_experiment
from twinsight.spec import parse_spec

from ._agree import assert_engines_agree

pytest.importorskip("twinsight.engines.fast", reason="the fast engine is not built yet")

REPS = 30

SPEC = """
twinsight: 1
name: dated surge clinic
time_unit: hours
horizon: 336
warmup: 24
start: {day: thu, time: "07:00"}
classes:
  urgent: {priority: 1}
  routine: {priority: 2}
resources:
  doctor: {capacity: 3}
stations:
  triage:
    service: {dist: exponential, mean: 0.1}
    routing:
      - {to: visit, p: 0.8}
      - {to: exit, p: 0.2}
  visit:
    resources: {doctor: 1}
    service: {dist: lognormal, mean: 0.6, sd: 0.4}
    wait_target: 1.0
arrivals:
  - name: epidemic
    to: triage
    class: {urgent: 0.4, routine: 0.6}
    profile:
      per: days
      dated: {step: days, rates: [5, 10, 20, 40, 70, 90, 80, 60, 40, 20, 10]}
  - name: walk_in
    to: triage
    class: routine
    profile:
      hour_of_day: [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1, 2, 3, 3, 3, 3,
                    3, 3, 3, 3, 2, 2, 2, 1, 1, 1, 0.5, 0.5]
      dated: {step: hours, rates: [0, 0, 0, 0, 0, 0, 0, 0, 6, 6, 6, 6]}
  - {name: steady, to: visit, class: urgent, rate: 0.5}
kpis:
  percentiles: [50, 90]
  interval: 24
"""


def test_engines_agree_on_dated_rates() -> None:
    spec = parse_spec(SPEC)
    fast = run_experiment(spec, reps=REPS, seed=11, engine="fast")
    ref = run_experiment(spec, reps=REPS, seed=12, engine="reference")
    assert_engines_agree(fast, ref)
    # theory for the arrivals after the warm-up (hours 24..336): the dated epidemic days 1-10
    # (rates per day) and day 11+ at 0, the walk-ins' weekly table (their dated hours end at
    # hour 12), and the steady stream: the mean of both samples within 4 standard errors
    epidemic = sum([10, 20, 40, 70, 90, 80, 60, 40, 20, 10])
    day = sum([0.5] * 6 + [1, 2] + [3] * 8 + [2] * 3 + [1] * 3 + [0.5] * 2)
    want = epidemic + day * 13 + 0.5 * 312
    for res in (fast, ref):
        got = res.per_rep["arrivals"]
        assert abs(got.mean() - want) < 4 * math.sqrt(want / got.size), (got.mean(), want)
