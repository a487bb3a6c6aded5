"""Joint staffing of an interval with multi-skilled agent groups, by simulation, validated
against exact Erlang C: one group holding every skill is pooled Erlang C; groups of one skill
only are the per-queue answer. Targets chosen so that Erlang's answer is not borderline (its
service level at least 0.03 above the target and 0.05 below it with one agent fewer), which
R = 10 replications (up to 40 while too close to call) separate; one interval each."""

from __future__ import annotations

from typing import Any

import pytest

from twinsight.contact import ContactModel, ContactSettings, staff_intervals, stated_calibration
from twinsight.contact._erlang import erlang_level, fewest_agents
from twinsight.contact._joint import staff_interval_jointly

TARGET = 0.77
SECONDS = 20.0
AHT = 4.0
CALLS = {"billing": 60.0, "sales": 40.0}  # per 30 minutes


def _model(**settings: Any) -> ContactModel:
    cal = stated_calibration({q: (c, AHT, None) for q, c in CALLS.items()})
    settings.setdefault("service_level", {"seconds": SECONDS, "target": TARGET})
    return ContactModel(cal, ContactSettings.model_validate(settings))


def _erlang_c(calls: float) -> int:
    """Erlang C's fewest agents, checked not borderline."""
    lam = calls / 30.0
    c = fewest_agents(lam, AHT, None, SECONDS / 60.0, TARGET).agents
    assert erlang_level(lam, AHT, c, None, SECONDS / 60.0).service_level >= TARGET + 0.03
    assert erlang_level(lam, AHT, c - 1, None, SECONDS / 60.0).service_level <= TARGET - 0.05
    return c


def test_one_group_with_every_skill_is_pooled_erlang_c() -> None:
    model = _model(agent_groups={"all": {"skills": ["billing", "sales"], "agents": 1}})
    pooled = _erlang_c(sum(CALLS.values()))
    for seed in (1, 2, 3):
        res = staff_interval_jointly(model, CALLS, seed=seed, reps=10)
        assert res.headcount == {"agents_billing": 0, "agents_sales": 0, "group_all": pooled}
        assert res.evaluation.feasible
        for q in CALLS:
            assert res.kpis[f"wait_within_target[{q}]"] >= TARGET


def test_single_skill_groups_equal_the_per_queue_answer() -> None:
    grouped = _model(agent_groups={"b": {"skills": ["billing"], "agents": 2}})
    before = staff_intervals(_model(), ["tue"], starts=["10:00"], method="erlang")
    per_queue = dict(zip(before.table["queue"], before.table["agents"], strict=True))
    assert per_queue == {q: _erlang_c(c) for q, c in CALLS.items()}
    res = staff_interval_jointly(grouped, CALLS, seed=2, reps=10)
    h = res.headcount
    assert h["agents_billing"] + h["group_b"] == per_queue["billing"]
    assert h["agents_sales"] == per_queue["sales"]


def test_staffing_plan_names_each_group_per_interval() -> None:
    model = _model(agent_groups={"all": {"skills": ["billing", "sales"], "agents": 1}})
    plan = staff_intervals(model, ["tue"], starts=["10:00"], seed=1, reps=10)
    rows = {r["queue"]: r for r in plan.table.to_dict(orient="records")}
    assert set(rows) == {"billing", "sales", "group:all"}
    assert {r["method"] for r in rows.values()} == {"joint"}
    pooled = _erlang_c(sum(CALLS.values()))
    assert rows["group:all"]["agents"] == pooled and rows["group:all"]["calls"] == 100.0
    assert rows["group:all"]["rostered"] == model.rostered(pooled)
    slot = 1 * 48 + 20  # tue 10:00 (Monday first)
    assert plan.groups["all"][slot] == pooled and plan.agents["billing"][slot] == 0
    assert sum(plan.groups["all"]) == pooled
    again = staff_intervals(model, ["tue"], starts=["10:00"], seed=1, reps=10)
    assert again.table.equals(plan.table)  # same seed, same numbers


def test_no_calls_is_an_error() -> None:
    with pytest.raises(ValueError, match="no calls"):
        staff_interval_jointly(_model(), {"billing": 0.0})


def test_a_joint_plan_staffs_the_week_through_its_roster(tmp_path: Any) -> None:
    from twinsight.contact._roster import read_roster, write_roster

    model = _model(agent_groups={"all": {"skills": ["billing", "sales"], "agents": 1}})
    plan = staff_intervals(model, ["tue"], starts=["10:00"], seed=1, reps=10)
    path = tmp_path / "roster.csv"
    assert write_roster(plan, path) == 3  # billing, sales and group:all at tue 10:00
    agents = read_roster(path, model)
    slot = 1 * 48 + 20  # tue 10:00 (Monday first)
    pooled = _erlang_c(sum(CALLS.values()))
    # rostered after shrinkage gives back at least the productive agents the plan found
    assert agents["group:all"][slot] >= pooled and agents["billing"][slot] == 0
    spec = model.week_spec(agents, 1.0, start_day="tue")
    steps = spec.resources["group_all"].schedule.steps  # type: ignore[union-attr]
    at = {s.at: s.capacity for s in steps}
    assert at["tue 10:00"] == agents["group:all"][slot] and at["tue 10:30"] == 0
    # a roster without the group's rows keeps the group at its fixed headcount
    path.write_text("queue,weekday,start,rostered\nbilling,tue,10:00,30\n", encoding="utf-8")
    fixed = model.week_spec(read_roster(path, model), 1.0, start_day="tue")
    assert fixed.resources["group_all"].capacity == 1
