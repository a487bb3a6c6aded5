"""The contact-centre twin's flow spec against exact Erlang C and Erlang A, and its simulated
staffing against the exact staffing.

The spec is the one the twin builds for one interval (``ContactModel.interval_spec``: a routing
point, the queue station with its skill's agents, the callback station at lower priority) from
a stated model with exponential handle time (4 min) and, for Erlang A, exponential patience
(5 min). Theory: ``twinsight.contact.erlang_level`` (service level of the answered within 20 s
from the absorbing chain of a waiting call; ASA = mean wait of the answered; abandonment) built
on ``twinsight.theory.erlang_a``; its own exactness is checked in tests/test_contact_erlang.py.

Runs: the fast engine only. The engines' agreement is the differential suite's job and both
engines already pass Erlang A/C on plain specs (test_erlang_a.py, test_mmc.py); what is new
here is the contact spec (routing point, priorities, classes) and the service-level formula.
Each replication is 4 000 min after a 100 min warm-up (the chain relaxes in a few times
1 / min(c mu - lambda, theta) < 10 min: nothing of the empty start is left); ratios of counts
over the window carry O(W / T) < 1e-4 edge effects: bias allowance 0.2 % of theory.
Tolerances: 99 % t intervals over replications (tests/validation/_support.py), with the power
guard at 3 % for service level and occupancy. Mean waits and the abandonment share are
intrinsically noisier (rare long waits dominate): 80 replications hold them to about 6 % for
Erlang C's ASA (guard 8 %) and 3.5 % for Erlang A's (guard 5 %).
"""

from __future__ import annotations

import numpy as np

from twinsight.contact import (
    ContactModel,
    ContactSettings,
    ServiceLevel,
    erlang_level,
    staff_intervals,
    stated_calibration,
)

from ._support import check, simulate

HORIZON, WARMUP = 4_100.0, 100.0
CALLS, AHT, PATIENCE, TARGET = 60.0, 4.0, 5.0, 1 / 3  # per 30 min; minutes; 20 s
LAM = CALLS / 30.0


def _model(calls: float = CALLS, max_abandon: float = 0.05) -> ContactModel:
    cal = stated_calibration({"inbound": (calls, AHT, None), "care": (calls, AHT, PATIENCE)})
    return ContactModel(cal, ContactSettings(max_abandon=max_abandon))


def test_contact_spec_matches_erlang_c() -> None:
    agents = 11
    t = erlang_level(LAM, AHT, agents, None, TARGET)
    r = simulate(_model().interval_spec("inbound", CALLS, agents), "fast", 80, 7, HORIZON, WARMUP)
    v = r.per_rep
    b = 0.002
    check("service level 80/20", v["wait_within_target[inbound]"], t.service_level,
          b * t.service_level)  # fmt: skip
    check("ASA", v["wait_mean[inbound]"], t.asa, b * t.asa, 0.08)
    check("occupancy", v["utilisation[agents]"], t.occupancy, b * t.occupancy)
    assert float(np.sum(v["abandoned[inbound]"])) == 0.0


def test_contact_spec_matches_erlang_a() -> None:
    agents = 9
    t = erlang_level(LAM, AHT, agents, PATIENCE, TARGET)
    r = simulate(_model().interval_spec("care", CALLS, agents), "fast", 80, 11, HORIZON, WARMUP)
    v = r.per_rep
    b = 0.002
    gone, served = v["abandoned[care]"], v["served[care]"]
    check("service level of the answered", v["wait_within_target[care]"], t.service_level,
          b * t.service_level)  # fmt: skip
    check("abandonment", gone / (gone + served), t.abandon, b * t.abandon, 0.05)
    check("ASA of the answered", v["wait_mean[care]"], t.asa, b * t.asa, 0.05)
    check("occupancy", v["utilisation[agents]"], t.occupancy, b * t.occupancy)


def test_simulated_staffing_equals_exact_staffing() -> None:
    # 44 calls per 30 min: Erlang C needs 9 agents (SL 0.864; 8 give 0.727), Erlang A with a
    # 10% abandonment cap needs 8 (SL 0.848, 4.3% abandon; 7 give 0.743): targets well apart
    # from the levels on either side, so the simulation's sequential checks can decide.
    model = _model(44.0, max_abandon=0.10)
    model = ContactModel(model.calibration, model.settings.model_copy(
        update={"service_level": ServiceLevel(seconds=20, target=0.8)}))  # fmt: skip
    sim = staff_intervals(model, ["mon"], method="simulation", seed=3, reps=10, starts=["10:00"])
    exact = staff_intervals(model, ["mon"], method="erlang")
    first = sim.table.set_index("queue")
    print(first[["agents", "erlang_agents", "service_level", "abandon"]])
    assert first.loc["inbound", "agents"] == 9 == first.loc["inbound", "erlang_agents"]
    assert first.loc["care", "agents"] == 8 == first.loc["care", "erlang_agents"]
    assert (exact.table["agents"] == exact.table["erlang_agents"]).all()
