"""The contact-centre twin's library: emulator, ingest with quarantine, calibration (arrivals,
handle time, censored patience, satisfaction), exact Erlang service levels, staffing, the flow
specs (routing point, callbacks, shrinkage) and the scenario keys."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from twinsight import run_experiment
from twinsight.calibrate import LengthOfStay
from twinsight.contact import (
    ContactCalibration,
    ContactModel,
    ContactSettings,
    SatisfactionModel,
    calibrate_contact,
    emulate_contact_centre,
    erlang_level,
    fewest_agents,
    ingest_interactions,
    load_contact_scenario,
    load_interactions,
    staff_intervals,
    stated_calibration,
    write_interactions,
)
from twinsight.decide import ScenarioError
from twinsight.store import InteractionRow, QuarantineRow
from twinsight.theory import erlang_a, mmc_wait_cdf
from twinsight.twin import init_twin

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "contact"


@pytest.fixture(scope="module")
def emulated() -> pd.DataFrame:
    return pd.DataFrame(emulate_contact_centre(14, 4, calls_per_day=600.0).truth)


def test_emulator_is_reproducible_and_has_its_own_structure(emulated: pd.DataFrame) -> None:
    again = emulate_contact_centre(14, 4, calls_per_day=600.0)
    assert pd.DataFrame(again.truth).equals(emulated)
    t = emulated["arrived_at"]
    per_day = emulated.groupby(t.dt.date).size()
    weekday = pd.Series([d.weekday() for d in per_day.index], index=per_day.index)
    assert per_day[weekday == 0].mean() > 1.1 * per_day[weekday == 2].mean()  # Monday surge
    assert not (weekday == 6).any()  # closed on Sunday
    hour = t.dt.hour + t.dt.minute / 60
    peak = ((hour >= 10) & (hour < 11)).sum()
    dip = ((hour >= 12.25) & (hour < 13.25)).sum()
    assert peak > 1.15 * dip  # the first of two intraday peaks
    answered = emulated[emulated["answered"]]
    assert (
        answered["handle"].gt(0).all()
        and emulated.loc[~emulated["answered"], "handle"].isna().all()
    )
    assert 0.8 < emulated["answered"].mean() < 1.0
    assert set(emulated["queue"]) == {"billing", "technical", "sales"}


def test_ingest_quarantines_bad_rows_and_a_replay_adds_nothing(tmp_path: Path) -> None:
    twin = init_twin("cc", "contact-centre", home=tmp_path)
    sample = EXAMPLES / "interactions.csv"
    first = ingest_interactions(sample, twin.engine, twin.pseudonymise)
    assert first.accepted > 700 and first.quarantined >= 1
    assert first.duplicate >= 1  # the emulator writes some rows twice
    again = ingest_interactions(sample, twin.engine, twin.pseudonymise)
    assert again.accepted == 0 and again.duplicate == first.accepted + first.duplicate
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "arrived_at,queue,wait_seconds,answered,handle_seconds,satisfaction,customer_id\n"
        "2026-01-05T09:00:00Z,billing,12,true,300,5,C1\n"
        "2026-01-05T09:00:00,billing,12,true,300,,C2\n"
        "2026-01-05T09:01:00Z,billing,-3,true,300,,C3\n"
        "2026-01-05T09:02:00Z,billing,3,true,,,C4\n"
        "2026-01-05T09:03:00Z,billing,3,perhaps,100,,C5\n"
        "2026-01-05T09:04:00Z,billing,40,false,,,C6\n"
        "2026-01-05T09:05:00Z,billing,4,true,90,11,C7\n",
        encoding="utf-8",
    )
    r = ingest_interactions(bad, twin.engine, twin.pseudonymise)
    assert (r.accepted, r.quarantined) == (2, 5)
    text = " | ".join(r.reasons)
    for why in ("no UTC offset", "wait_seconds -3", "handle_seconds must be > 0",
                "answered 'perhaps'", "satisfaction 11"):  # fmt: skip
        assert why in text
    with twin.engine.connect() as conn:
        keys = conn.execute(select(InteractionRow.customer_key)).scalars().all()
        reasons = conn.execute(select(QuarantineRow.reason)).scalars().all()
    assert "C1" not in keys and all(k is None or len(k) == 64 for k in keys)
    assert any("wait_seconds" in x for x in reasons)
    twin.close()
    twin = init_twin("pq", "contact-centre", home=tmp_path)
    parquet = tmp_path / "calls.parquet"
    rows = emulate_contact_centre(1, 9, calls_per_day=100.0, defects=False).rows
    write_interactions(rows, parquet)
    p = ingest_interactions(parquet, twin.engine, twin.pseudonymise)
    assert p.format == "contact-parquet" and (p.accepted, p.quarantined) == (len(rows), 0)
    twin.close()


def test_censored_patience_recovers_the_truth_where_the_naive_mean_does_not() -> None:
    # exponential patience of mean 3 min; waits offered ~ exponential of mean 1 min: a caller
    # abandons when patience < offered wait (an event), else is answered at the offered wait
    # (right-censored patience). The naive mean of abandoned waits is about 0.75 min.
    rng = np.random.default_rng(5)
    patience = rng.exponential(3.0, 20_000)
    offered = rng.exponential(1.0, 20_000)
    wait = np.minimum(patience, offered)
    answered = offered <= patience
    fit = LengthOfStay(("exponential", "weibull"), resolution_hours=1e-6).fit(wait, answered)
    lo, hi = fit.intervals()["scale"] if fit.family_ == "exponential" else (2.8, 3.2)
    assert abs(fit.mean_ - 3.0) < 0.15 and (fit.family_ != "exponential" or lo < 3.0 < hi)
    assert wait[~answered].mean() < 1.0  # what averaging abandoned waits would have said


def test_calibration_recovers_rates_and_satisfaction_and_round_trips(
    emulated: pd.DataFrame,
) -> None:
    frame = emulated.rename(columns={})[
        ["arrived_at", "queue", "wait", "answered", "handle", "outcome", "satisfaction"]
    ].astype({"satisfaction": float})
    frame["handle"] = frame["handle"].astype(float)
    cal = calibrate_contact(frame)
    t = cal.arrivals.table_
    assert t["calls"].sum() == len(frame)
    assert (t["lo"] <= t["rate"]).all() and (t["rate"] <= t["hi"]).all()
    mon = t[(t["queue"] == "billing") & (t["weekday"] == "mon")]
    assert mon.loc[mon["start"] == "03:00", "rate"].item() == 0.0
    assert mon["days"].iloc[0] == 2  # two Mondays in the 14-day window
    for q in cal.queues:
        true = frame.loc[frame["answered"] & (frame["queue"] == q), "handle"].mean() / 60
        assert abs(cal.handle[q].mean_ / true - 1) < 0.05
    s = cal.satisfaction
    assert s is not None and s.coef_[1] < 0  # longer waits, lower scores
    back = ContactCalibration.from_dict(cal.to_dict())
    assert back.report() == cal.report()
    assert back.arrivals.hour_of_week("sales") == cal.arrivals.hour_of_week("sales")
    x = np.random.default_rng(1)
    w, h = x.exponential(1, 500), x.exponential(5, 500)
    m = SatisfactionModel().fit(w, h, 4 - 0.3 * w - 0.05 * h + x.normal(0, 0.1, 500))
    assert np.allclose(m.coef_, [4, -0.3, -0.05], atol=0.03)
    assert math.isclose(m.predict(1.0, 5.0), m.coef_[0] + m.coef_[1] + 5 * m.coef_[2])


def test_exact_service_levels() -> None:
    for c in (9, 10, 12):
        level = erlang_level(1.6, 5.0, c, None, 1 / 3)
        assert math.isclose(level.service_level, float(mmc_wait_cdf(1 / 3, 1.6, 0.2, c)),
                            rel_tol=1e-9)  # fmt: skip
    # every waiting call ends answered or abandoned: answered within a long time -> 1 - P(ab)
    long = erlang_level(1.6, 5.0, 8, 3.0, 50.0)  # P(still waiting at 50 min) < e^-80
    assert math.isclose(long.answered_within, 1 - erlang_a(1.6, 0.2, 8, 1 / 3).p_abandon,
                        rel_tol=1e-9)  # fmt: skip
    assert math.isclose(long.service_level, 1.0, rel_tol=1e-9)
    # almost no abandonment -> Erlang C
    near = erlang_level(1.6, 5.0, 9, 1e9, 1 / 3).service_level
    assert math.isclose(near, float(mmc_wait_cdf(1 / 3, 1.6, 0.2, 9)), rel_tol=1e-6)
    best = fewest_agents(1.0, 5.0, None, 1 / 3, 0.8)
    assert best.agents == 8  # the help-desk example: 0.716 with 7, 0.863 with 8
    assert erlang_level(1.0, 5.0, 7, None, 1 / 3).service_level < 0.8 <= best.service_level
    capped = fewest_agents(1.6, 5.0, 3.0, 1 / 3, 0.5, max_abandon=0.02)
    assert capped.abandon <= 0.02 < erlang_level(1.6, 5.0, capped.agents - 1, 3.0, 1 / 3).abandon


def _model(**settings: float) -> ContactModel:
    cal = stated_calibration({"billing": (60.0, 4.0, 5.0), "sales": (20.0, 3.0, None)})
    return ContactModel(cal, ContactSettings.model_validate(settings))


def test_staffing_plan_by_erlang_with_shrinkage() -> None:
    model = _model(shrinkage=0.25)
    plan = staff_intervals(model, ["tue"], method="erlang", starts=["09:00", "09:30"])
    assert len(plan.table) == 4 and set(plan.table["start"]) == {"09:00", "09:30"}
    row = plan.table.iloc[0]
    exact = fewest_agents(2.0, 4.0, 5.0, 1 / 3, 0.8, 0.05)
    assert row["agents"] == exact.agents and row["rostered"] == math.ceil(exact.agents / 0.75)
    assert plan.agents["billing"][1 * 48 + 18] == exact.agents  # Tuesday 09:00
    assert plan.agents["billing"][0] == 0  # not staffed (not asked)
    assert model.productive(row["rostered"]) >= row["agents"]
    with pytest.raises(ValueError, match="method"):
        staff_intervals(model, ["tue"], method="guess")


def test_week_spec_and_callbacks_in_idle_time() -> None:
    model = _model(callback_share=0.3)
    plan = {"billing": [10] * (7 * 48), "sales": [3] * (7 * 48)}
    spec = model.week_spec(plan, 1.0)
    assert spec.resources["agents_billing"].schedule is not None
    assert spec.classes["billing_callback"].priority > spec.classes["billing"].priority
    r = run_experiment(spec, reps=4, seed=2)
    s = {k: v.mean for k, v in r.summary().items()}
    assert s["served[billing_callback]"] > 0 and s["abandoned[billing_callback]"] == 0
    base = run_experiment(_model().week_spec(plan, 1.0), reps=4, seed=2)
    b = {k: v.mean for k, v in base.summary().items()}
    assert s["abandoned[billing]"] < b["abandoned[billing]"]  # fewer wait in the queue
    assert s["wait_mean[billing_callback]"] > s["wait_mean[billing]"]  # called back later
    with pytest.raises(ValueError, match="values"):
        model.week_spec({"billing": [1], "sales": [1]}, 1.0)


def test_scenario_keys_become_set_changes(tmp_path: Path) -> None:
    model = _model()
    spec = model.week_spec({"billing": [10] * 336, "sales": [3] * 336}, 1.0)
    sc = load_contact_scenario(EXAMPLES / "handle-time-10.yaml", spec)
    changes = sc.interventions[0].value
    assert math.isclose(changes["stations.billing.service"]["mean"], 3.6)
    sc = load_contact_scenario(EXAMPLES / "callback.yaml", spec)
    assert sc.interventions[0].value == {
        "arrivals.billing.class": {"billing": 0.7, "billing_callback": 0.3}
    }
    sc = load_contact_scenario(EXAMPLES / "fewer-agents.yaml", spec)
    steps = sc.interventions[1].value["resources.agents_billing"]["schedule"]["steps"]
    assert {s["capacity"] for s in steps} == {9}
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ninterventions:\n  - callback: {share: 0.3, queues: [bills]}\n")
    with pytest.raises(ScenarioError, match="no queue bills"):
        load_contact_scenario(bad, spec)
    bad.write_text("name: x\ninterventions:\n  - handle_time: {factor: 0.9, skill: a}\n")
    with pytest.raises(ScenarioError, match="unknown field"):
        load_contact_scenario(bad, spec)


def test_load_interactions_window(tmp_path: Path) -> None:
    twin = init_twin("w", "contact-centre", home=tmp_path)
    ingest_interactions(EXAMPLES / "interactions.csv", twin.engine, twin.pseudonymise)
    everything = load_interactions(twin.engine)
    tuesday = load_interactions(twin.engine, since=datetime(2026, 1, 6, tzinfo=UTC))
    assert 0 < len(tuesday) < len(everything)
    assert tuesday["arrived_at"].min() >= pd.Timestamp("2026-01-06", tz="UTC")
    twin.close()


def test_roster_round_trip_and_errors(tmp_path: Path) -> None:
    from twinsight.contact._roster import RosterError, read_roster, write_roster

    model = _model(shrinkage=0.25)
    plan = staff_intervals(model, ["wed"], method="erlang", starts=["10:00", "10:30"])
    path = tmp_path / "roster.csv"
    assert write_roster(plan, path) == 4
    agents = read_roster(path, model)
    slot = 2 * 48 + 20  # Wednesday 10:00
    assert agents["billing"][slot] == model.productive(int(plan.table.iloc[0]["rostered"]))
    assert agents["billing"][slot] >= plan.table.iloc[0]["agents"]  # shrinkage undone
    assert sum(agents["billing"]) == sum(agents["billing"][slot : slot + 2])
    path.write_text("queue,weekday,start,rostered\nbilling,wed,10:10,5\n")
    with pytest.raises(RosterError, match="line 2: start '10:10'"):
        read_roster(path, model)
    path.write_text("queue,weekday,start,rostered\nbills,wed,10:00,5\n")
    with pytest.raises(RosterError, match="queue 'bills'"):
        read_roster(path, model)
