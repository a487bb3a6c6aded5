"""Differential test for release hours (``release_hours``): the fast and the reference engine
simulate wards whose discharges home are re-timed to the daytime while transfers are not,
with boarding (blocking), class changes on routing and a warm start of patients in beds.

Tolerance as in ``test_engines_agree.py`` (``_agree.py``): independent samples (different
seeds), every KPI compared with Welch's t-test at a family-wise level of 1% (Bonferroni), so
correct engines fail with probability at most 1%; KPIs constant in both samples must be equal.
"""

from __future__ import annotations

import pytest

from twinsight.experiment import run_experiment
from twinsight.spec import parse_spec

from ._agree import assert_engines_agree

pytest.importorskip("twinsight.engines.fast", reason="the fast engine is not built yet")

REPS = 30

SPEC = """
twinsight: 1
name: release hours hospital
time_unit: hours
horizon: 336
warmup: 48
start: {day: tue, time: "09:40"}
classes:
  emergency: {priority: 1}
  inpatient: {priority: 2}
  stepdown: {priority: 2}
resources:
  ed_space: {capacity: 1000}
  ward_bed: {capacity: 22}
  icu_bed: {capacity: 5}
stations:
  ed:
    resources: {ed_space: 1}
    service: {dist: lognormal, mean: 3.0, sd: 2.0}
    blocking: [ed_space]
    routing:
      - {to: ward, p: 0.85, becomes: inpatient}
      - {to: icu, p: 0.15, becomes: inpatient}
  ward:
    resources: {ward_bed: 1}
    queue_capacity: 0
    service: {dist: lognormal, mean: 60.0, sd: 45.0}
    blocking: true
    release_hours:
      shares: [0, 0, 0, 0, 0, 0, 0, 0.5, 1, 3, 6, 7, 6, 5, 4, 3, 2, 2, 1, 1, 0.5, 0, 0, 0]
      to: [exit]
    routing:
      - {to: exit, p: 0.9}
      - {to: icu, p: 0.1}
  icu:
    resources: {icu_bed: 1}
    queue_capacity: 0
    service: {dist: weibull, shape: 1.3, scale: 50.0}
    blocking: true
    release_hours:
      shares: [1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 4, 4, 4, 4, 3, 3, 3, 2, 2, 2, 1, 1, 1, 1]
    routing:
      - {to: ward, p: 0.7, becomes: stepdown}
      - {to: exit, p: 0.3}
arrivals:
  - name: emergencies
    to: ed
    class: emergency
    profile:
      hour_of_day: [0.2, 0.15, 0.1, 0.1, 0.1, 0.15, 0.2, 0.3, 0.5, 0.6, 0.6, 0.6,
                    0.6, 0.55, 0.5, 0.5, 0.5, 0.45, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2]
initial_state:
  - {station: ward, class: inpatient, count: 18, elapsed: 30.0}
  - {station: ward, class: inpatient, count: 2, elapsed: 5.0, remaining: 10.0}
  - {station: icu, class: inpatient, count: 4, elapsed: 12.0}
kpis:
  interval: 24
  journeys:
    to_bed: {from: ed, start: service_end, to: ed, classes: [inpatient]}
"""


def test_engines_agree_with_release_hours() -> None:
    spec = parse_spec(SPEC)
    fast = run_experiment(spec, REPS, 101, "fast")
    ref = run_experiment(spec, REPS, 202, "reference")
    assert_engines_agree(fast, ref)
