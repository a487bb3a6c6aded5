"""The contact twin with multi-skilled agent groups and a callback offered after a wait:
settings, the flow specs they make, staffing by simulation, the "callback after 60 s" scenario."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twinsight.contact import (
    ContactModel,
    ContactSettings,
    StaffingPlan,
    erlang_applies,
    load_contact_scenario,
    staff_intervals,
    stated_calibration,
)
from twinsight.decide._apply import apply_to_spec
from twinsight.experiment import run_experiment

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "contact"
PLAN = {"billing": [4] * (7 * 48), "sales": [2] * (7 * 48)}


def _model(**settings: Any) -> ContactModel:
    cal = stated_calibration({"billing": (60.0, 4.0, 5.0), "sales": (20.0, 3.0, None)})
    return ContactModel(cal, ContactSettings.model_validate(settings))


GROUPS = {"generalists": {"skills": ["billing", "sales"], "agents": 3}}


def test_agent_groups_and_offer_make_overflow_and_on_wait() -> None:
    spec = _model(
        agent_groups=GROUPS, callback_offer={"after_seconds": 60, "accept": 0.3}
    ).week_spec(PLAN, 1.0)
    assert spec.resources["group_generalists"].capacity == 3
    for q in ("billing", "sales"):
        st = spec.stations[q]
        assert st.resources == {f"agents_{q}": 1}
        assert st.alternatives == [{"group_generalists": 1}]
        assert st.on_wait is not None and st.on_wait.to == f"{q}_callback"
        assert math.isclose(st.on_wait.after, 1.0) and st.on_wait.becomes == f"{q}_callback"
        assert spec.stations[f"{q}_callback"].alternatives == [{"group_generalists": 1}]
    with pytest.raises(ValueError, match="no queue tech"):
        _model(agent_groups={"g": {"skills": ["tech"], "agents": 1}}).week_spec(PLAN, 1.0)


def test_generalists_take_overflow_and_callbacks_leave_the_queue() -> None:
    """The same dedicated agents plus 3 generalists: shorter billing waits, the generalists
    busy; with the offer, callers diverted to the callback station and called back later."""
    base = run_experiment(_model().week_spec(PLAN, 1.0), reps=4, seed=2)
    both = run_experiment(
        _model(agent_groups=GROUPS, callback_offer={"after_seconds": 60, "accept": 0.5}).week_spec(
            PLAN, 1.0
        ),
        reps=4,
        seed=2,
    )
    b = {k: v.mean for k, v in base.summary().items()}
    s = {k: v.mean for k, v in both.summary().items()}
    assert s["in_use_mean[group_generalists]"] > 0.5
    assert s["wait_mean[billing]"] < b["wait_mean[billing]"]
    assert s["diverted[billing]"] > 0 and s["served[billing_callback]"] > 0
    assert s["abandoned[billing_callback]"] == 0
    assert s["wait_mean[billing_callback]"] > s["wait_mean[billing]"]


def test_offer_nobody_accepts_changes_nothing() -> None:
    """accept = 0: the same numbers as without an offer (same seed)."""
    base = run_experiment(_model().week_spec(PLAN, 0.5), reps=2, seed=4)
    zero = _model(callback_offer={"after_seconds": 60, "accept": 0.0}).week_spec(PLAN, 0.5)
    res = run_experiment(zero, reps=2, seed=4)
    for k, v in base.per_rep.items():
        np.testing.assert_array_equal(res.per_rep[k], v, err_msg=k)


def _rows(plan: StaffingPlan) -> dict[str, dict[str, Any]]:
    return {
        str(r["queue"]): {str(k): v for k, v in r.items()} for r in plan.table.to_dict("records")
    }


def test_staffing_by_simulation_when_erlang_does_not_apply() -> None:
    plain = _model()
    offer = _model(callback_offer={"after_seconds": 60, "accept": 0.3})
    grouped = _model(agent_groups={"g": {"skills": ["billing"], "agents": 2}})
    assert erlang_applies(plain, "billing")
    assert not erlang_applies(offer, "billing") and not erlang_applies(grouped, "billing")
    assert not erlang_applies(grouped, "billing") and erlang_applies(grouped, "sales")
    kw: dict[str, Any] = {"starts": ["10:00"], "reps": 6, "seed": 3}
    erl = _rows(staff_intervals(plain, ["tue"], method="erlang", **kw))
    # per-queue simulation (a fixed group, an even share per skill); auto is joint with groups
    sim = _rows(staff_intervals(grouped, ["tue"], method="simulation", **kw))
    assert sim["billing"]["method"] == "simulation" and sim["sales"]["method"] == "simulation"
    # two generalists on top: fewer dedicated agents, but not fewer than Erlang's minus 2 - 1
    need, alone = int(sim["billing"]["agents"]), int(erl["billing"]["agents"])
    assert alone - 3 <= need < alone
    assert float(sim["billing"]["service_level"]) >= 0.8 - 0.05


def test_callback_after_60s_scenario() -> None:
    spec = _model().week_spec(PLAN, 1.0)
    sc = load_contact_scenario(EXAMPLES / "callback-after-60s.yaml", spec)
    changes = sc.interventions[0].value
    assert changes["stations.billing.on_wait"] == {
        "after": 1.0,
        "p": 0.3,
        "to": "billing_callback",
        "becomes": "billing_callback",
    }
    changed = apply_to_spec(spec, sc)
    assert changed.stations["sales"].on_wait is not None
    r = run_experiment(changed, reps=2, seed=1)
    assert r.summary()["diverted[billing]"].mean > 0
