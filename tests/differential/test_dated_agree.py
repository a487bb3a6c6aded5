"""Differential test for dated arrival rates (``profile.dated``): the fast and the reference
engine simulate the same queueing network fed by a rate that rises and falls over days, beside a
weekly-profile stream and a constant one.

Tolerance as in ``test_engines_agree.py``: independent samples (different seeds), every KPI
compared with Welch's t-test at a family-wise level of 1% (Bonferroni), so correct engines fail
with probability at most 1%; KPIs constant in both samples must be equal.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy import stats

from twinsight.experiment import run_experiment
from twinsight.spec import parse_spec

pytest.importorskip("twinsight.engines.fast", reason="the fast engine is not built yet")

FAMILY_ALPHA = 0.01
REPS = 30
PERCENTILE_REL_TOL = 0.006

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


def _welch_p(a: np.ndarray, b: np.ndarray, rel_tol: float) -> float:
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size < 2 or b.size < 2:
        return 1.0
    if a.std() == 0 and b.std() == 0:
        return 1.0 if math.isclose(a[0], b[0], rel_tol=rel_tol, abs_tol=1e-12) else 0.0
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def test_engines_agree_on_dated_rates() -> None:
    spec = parse_spec(SPEC)
    fast = run_experiment(spec, reps=REPS, seed=11, engine="fast")
    ref = run_experiment(spec, reps=REPS, seed=12, engine="reference")
    assert set(fast.per_rep) == set(ref.per_rep)
    p_values = {}
    for k in fast.per_rep:
        pct = re.search(r"_p[0-9.]+$", k.split("[")[0]) is not None
        p_values[k] = _welch_p(fast.per_rep[k], ref.per_rep[k], PERCENTILE_REL_TOL if pct else 1e-9)
    level = FAMILY_ALPHA / len(p_values)
    bad = {
        k: (float(np.nanmean(fast.per_rep[k])), float(np.nanmean(ref.per_rep[k])), p)
        for k, p in p_values.items()
        if p < level
    }
    assert not bad, f"engines disagree (fast mean, reference mean, p) at level {level:.2g}: {bad}"
    # theory for the arrivals after the warm-up (hours 24..336): the dated epidemic days 1-10
    # (rates per day) and day 11+ at 0, the walk-ins' weekly table (their dated hours end at
    # hour 12), and the steady stream: the mean of both samples within 4 standard errors
    epidemic = sum([10, 20, 40, 70, 90, 80, 60, 40, 20, 10])
    day = sum([0.5] * 6 + [1, 2] + [3] * 8 + [2] * 3 + [1] * 3 + [0.5] * 2)
    want = epidemic + day * 13 + 0.5 * 312
    for res in (fast, ref):
        got = res.per_rep["arrivals"]
        assert abs(got.mean() - want) < 4 * math.sqrt(want / got.size), (got.mean(), want)
