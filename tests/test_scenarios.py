"""Scenario files (typed interventions, problems with the closest allowed name and a place in
the file) and how each intervention changes the hospital model or the flow spec."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from twinsight.decide import (
    Scenario,
    ScenarioError,
    apply_to_model,
    apply_to_spec,
    list_scenarios,
    load_scenario,
    parse_scenario,
    save_scenario,
)
from twinsight.forecast import EXIT, HospitalModel, UnitModel
from twinsight.spec import FlowSpec, PoissonArrivals, SpecError, load_spec, parse_spec

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "scenarios"
EXP = {"dist": "exponential", "mean": 48.0}


def _scenario(text: str) -> Scenario:
    return parse_scenario(textwrap.dedent(text), "s.yaml")


def _model() -> HospitalModel:
    units = {
        "MED1": UnitModel(20, EXP),
        "SURG": UnitModel(10, {"dist": "exponential", "mean": 72.0}),
    }
    return HospitalModel(
        [2.0] * 168,
        {EXIT: 0.7, "MED1": 0.2, "SURG": 0.1},
        {"dist": "exponential", "mean": 3.0},
        {"dist": "exponential", "mean": 5.0},
        units,
        discharge_shares=[0.0] * 10 + [0.1] * 10 + [0.0] * 4,
    )


def test_every_example_scenario_is_valid() -> None:
    files = sorted(EXAMPLES.rglob("*.yaml"))
    scenarios = [parse_scenario(p.read_text(), str(p)) for p in files if p.name != "staffing.yaml"]
    assert len(scenarios) >= 9
    kinds = {iv.kind for s in scenarios for iv in s.interventions}
    assert kinds == {
        "beds",
        "shift",
        "discharge_before_noon",
        "shorter_stays",
        "divert",
        "surge",
        "set",
    }


def test_a_misspelt_field_names_the_closest_one_and_its_line() -> None:
    with pytest.raises(SpecError) as err:
        _scenario("""\
            name: x
            interventions:
              - beds: {unit: MED1, chnage: 6}
              - bed: {unit: MED1, change: 6}
            """)
    messages = {p.path: (p.message, p.line) for p in err.value.problems}
    assert messages["interventions.0.beds.chnage"] == (
        "unknown field 'chnage'; did you mean 'change'?",
        3,
    )
    assert "did you mean 'beds'" in messages["interventions.1.bed"][0]


def test_an_item_must_be_exactly_one_intervention() -> None:
    with pytest.raises(SpecError, match="each intervention is one of beds, shift"):
        _scenario("""\
            name: x
            interventions:
              - {divert: {share: 0.1}, surge: {percent: 10, days: 2}}
            """)
    with pytest.raises(SpecError, match="name 'a b'"):
        _scenario("name: a b\ninterventions: [{divert: {share: 0.1}}]\n")


def test_model_interventions() -> None:
    m = _model()
    sc = _scenario("""\
        name: x
        interventions:
          - beds: {unit: MED1, change: 6}
          - beds: {unit: SURG, capacity: 4}
          - shorter_stays: {unit: all, factor: 0.5}
          - divert: {share: 0.25}
        """)
    out = apply_to_model(m, sc)
    assert out.units["MED1"].beds == 26 and out.units["SURG"].beds == 4
    assert out.units["MED1"].los["mean"] == 24.0 and out.units["SURG"].los["mean"] == 36.0
    assert out.ed_rate_per_hour[0] == 1.5
    assert m.units["MED1"].beds == 20  # the baseline is untouched


def test_discharge_before_noon_moves_the_discharge_hours_not_the_stays() -> None:
    m = _model()
    sc = _scenario("name: x\ninterventions: [{discharge_before_noon: {share: 0.5}}]\n")
    out = apply_to_model(m, sc)
    # 0.1 of the discharges in each hour 10-19; half of those in 12-19 (0.4) move to 10-12,
    # 0.2 to each of 10 and 11
    for unit in ("MED1", "SURG"):
        hours = out.units[unit].discharge_hours
        assert hours is not None and sum(hours) == pytest.approx(1.0)
        assert hours[10] == pytest.approx(0.3) and hours[11] == pytest.approx(0.3)
        assert hours[12:20] == pytest.approx([0.05] * 8) and sum(hours[:10]) == 0
        assert out.units[unit].los == m.units[unit].los  # no scaled stays
        # the same day as before: anchored on the old pattern's mean clock time (10:00-20:00)
        assert out.units[unit].discharge_anchor == pytest.approx(15.0)
    assert out.discharge_shares == m.discharge_shares
    spec = out.spec(None, 2.0)
    release = spec.stations["MED1"].release_hours
    assert release is not None and release.to == ["exit"]
    assert release.normalised()[10] == pytest.approx(0.3)
    assert release.anchor == pytest.approx(15.0)
    only = _scenario(
        "name: y\ninterventions: [{discharge_before_noon: {share: 1.0, units: [SURG]}}]\n"
    )
    out = apply_to_model(m, only)
    assert out.units["MED1"].discharge_hours is None
    assert out.units["SURG"].discharge_hours == pytest.approx([0.0] * 10 + [0.5, 0.5] + [0.0] * 12)


def test_a_unit_that_does_not_exist_is_named_with_the_ones_that_do() -> None:
    sc = _scenario("name: x\ninterventions: [{beds: {unit: MED, change: 2}}]\n")
    with pytest.raises(
        ScenarioError,
        match=r"no unit 'MED'; did you mean 'MED1'\? \(there are: "
        r"MED1, SURG\)",
    ):
        apply_to_model(_model(), sc)


SPEC = """\
name: clinic
time_unit: hours
horizon: 96
start: {day: mon, time: "06:00"}
resources:
  doctors: {capacity: 2}
  nurses:
    schedule:
      repeat: day
      steps: [{at: "00:00", capacity: 1}, {at: "08:00", capacity: 3}, {at: "20:00", capacity: 1}]
stations:
  visit:
    resources: {doctors: 1, nurses: 1}
    service: {dist: exponential, mean: 0.5}
arrivals:
  - {name: walk_in, to: visit, rate: 2.0}
"""


def _steps(spec: FlowSpec, name: str) -> list[tuple[str, int]]:
    schedule = spec.resources[name].schedule
    assert schedule is not None
    return [(s.at, s.capacity) for s in schedule.steps]


def test_shift_on_a_fixed_and_on_a_scheduled_resource() -> None:
    spec = parse_spec(SPEC)
    sc = _scenario("""\
        name: x
        interventions:
          - shift: {resource: doctors, extra: 1, from: "10:00", to: "18:00"}
          - shift: {resource: nurses, extra: 2, from: "18:00", to: "02:00"}
        """)
    out = apply_to_spec(spec, sc)
    assert _steps(out, "doctors") == [("00:00", 2), ("10:00", 3), ("18:00", 2)]
    assert _steps(out, "nurses") == [
        ("00:00", 3),
        ("02:00", 1),
        ("08:00", 3),
        ("18:00", 5),
        ("20:00", 3),
    ]
    with pytest.raises(ScenarioError, match="no resource 'doctor'; did you mean 'doctors'"):
        apply_to_spec(
            spec,
            _scenario(
                "name: x\ninterventions: [{shift: {resource: doctor, extra: 1, from: '08:00', "
                "to: '09:00'}}]\n"
            ),
        )


def test_surge_adds_a_stream_with_dated_rates_in_the_window() -> None:
    spec = parse_spec(SPEC)
    sc = _scenario("name: x\ninterventions: [{surge: {percent: 50, days: 1, from_day: 1}}]\n")
    out = apply_to_spec(spec, sc)
    extra = out.arrivals[-1]
    assert extra.name == "surge:walk_in"
    assert isinstance(extra, PoissonArrivals) and extra.profile is not None
    dated = extra.profile.dated
    assert dated is not None and dated.step.value == "hours"
    assert max(extra.profile.hourly_table()) == 0  # nothing after the dated rates
    # model hours 24-47 (Tuesday 06:00 to Wednesday 06:00) at 50 % of 2 per hour, 0 before
    assert dated.rates == [0.0] * 24 + [1.0] * 24
    whole = apply_to_spec(
        spec, _scenario("name: y\ninterventions: [{surge: {percent: -20, days: 4}}]\n")
    )
    first = whole.arrivals[0]
    assert isinstance(first, PoissonArrivals) and first.profile is not None
    assert first.profile.hourly_table()[0] == pytest.approx(1.6)
    with pytest.raises(ScenarioError, match="lull"):
        apply_to_spec(
            spec, _scenario("name: z\ninterventions: [{surge: {percent: -20, days: 1}}]\n")
        )


def test_set_changes_any_field_and_names_what_exists_near_a_bad_path() -> None:
    spec = parse_spec(SPEC)
    ok = _scenario("""\
        name: x
        interventions:
          - set: {stations.visit.service.mean: 0.4, arrivals.walk_in.rate: 3, stations.visit.wait_target: 0.25}
        """)  # noqa: E501
    out = apply_to_spec(spec, ok)
    assert out.stations["visit"].service.mean == 0.4  # type: ignore[union-attr]
    assert out.arrivals[0].rate == 3 and out.stations["visit"].wait_target == 0.25  # type: ignore[union-attr]
    for path, words in [
        ("stations.vist.service.mean", "no 'vist' in stations; did you mean 'visit'"),
        ("stations.visit.servce.mean", "did you mean 'service'"),
        ("arrivals.walkin.rate", "no item named 'walkin'"),
    ]:
        bad = _scenario(f"name: x\ninterventions: [{{set: {{{path}: 1}}}}]\n")
        with pytest.raises(ScenarioError, match=words):
            apply_to_spec(spec, bad)
    invalid = _scenario("name: x\ninterventions: [{set: {resources.doctors.capacity: -1}}]\n")
    with pytest.raises(
        ScenarioError, match=r"makes the spec invalid: resources\.doctors\.capacity"
    ):
        apply_to_spec(spec, invalid)
    with pytest.raises(ScenarioError, match="needs a hospital twin"):
        apply_to_spec(spec, _scenario("name: x\ninterventions: [{divert: {share: 0.1}}]\n"))


def test_saved_with_the_twin_atomically_and_listed(tmp_path: Path) -> None:
    save_scenario(tmp_path, EXAMPLES / "hospital" / "open-beds.yaml")
    save_scenario(tmp_path, EXAMPLES / "hospital" / "surge.yaml")
    assert [s.name for s in list_scenarios(tmp_path)] == ["open-beds", "surge"]
    assert (tmp_path / "scenarios" / "open-beds.yaml").read_text().startswith("#")
    with pytest.raises(FileExistsError, match="--replace"):
        save_scenario(tmp_path, EXAMPLES / "hospital" / "surge.yaml")
    save_scenario(tmp_path, EXAMPLES / "hospital" / "surge.yaml", replace=True)
    assert not list((tmp_path / "scenarios").glob(".*"))


def test_the_acute_hospital_scenarios_fit_the_template() -> None:
    spec = load_spec(EXAMPLES.parent / "acute_hospital.yaml")
    folder = EXAMPLES / "acute-hospital"
    doctors = apply_to_spec(spec, load_scenario(folder / "evening-doctors.yaml"))
    assert _steps(doctors, "ed_doctor") == [("00:00", 6), ("08:00", 12), ("16:00", 13)]
    beds = apply_to_spec(spec, load_scenario(folder / "more-medical-beds.yaml"))
    assert beds.resources["medical_bed"].capacity == 170
    early = apply_to_spec(spec, load_scenario(folder / "earlier-discharges.yaml"))
    window = early.stations["medical_ward"].release_window
    assert window is not None and (window.start, window.end) == ("08:00", "17:00")


def test_a_night_shift_on_a_weekly_schedule_wraps_into_monday() -> None:
    text = SPEC.replace(
        "doctors: {capacity: 2}",
        'doctors: {schedule: {repeat: week, steps: [{at: "mon 00:00", capacity: 2}, '
        '{at: "sat 00:00", capacity: 1}]}}',
    )
    sc = _scenario(
        "name: x\ninterventions: [{shift: {resource: doctors, extra: 1, from: '22:00', "
        "to: '02:00'}}]\n"
    )
    out = apply_to_spec(parse_spec(text), sc)
    nights = [(f"{d} 02:00", 2) for d in ("mon", "tue", "wed", "thu", "fri")]
    evenings = [(f"{d} 22:00", 3) for d in ("mon", "tue", "wed", "thu", "fri")]
    weekday = [x for pair in zip(nights, evenings, strict=True) for x in pair]
    weekend = [
        ("sat 00:00", 2),
        ("sat 02:00", 1),
        ("sat 22:00", 2),
        ("sun 02:00", 1),
        ("sun 22:00", 2),
    ]
    assert _steps(out, "doctors") == [("mon 00:00", 3), *weekday, *weekend]


def test_a_three_day_surge_from_day_10_of_a_21_day_run_adds_its_arrivals() -> None:
    """Theory: the surge adds ``percent`` % of the base rate over its 72 hours (2 per hour x
    50 % x 72 h = 72 expected extra arrivals), none outside. Over 60 replications of the
    reference engine the mean count in each window is within 4 standard errors (Poisson:
    sqrt(mean / 60)) of the integral of the rate."""
    from twinsight.engines import get_engine

    spec = parse_spec(SPEC.replace("horizon: 96", "horizon: 504"))
    sc = _scenario("name: x\ninterventions: [{surge: {percent: 50, days: 3, from_day: 10}}]\n")
    out = apply_to_spec(spec, sc)
    extra = out.arrivals[-1]
    assert isinstance(extra, PoissonArrivals) and extra.profile is not None
    assert extra.profile.dated is not None and len(extra.profile.dated.rates) == 312
    reps = 60
    engine = get_engine("reference")
    for a, b, mean in [(0.0, 240.0, 480.0), (240.0, 312.0, 216.0), (312.0, 504.0, 384.0)]:
        runs = engine.run(out, 3, range(reps), horizon=b, warmup=a)
        counts = [r.kpis["arrivals"] for r in runs]
        got = sum(counts) / reps
        assert abs(got - mean) < 4 * (mean / reps) ** 0.5, (a, b, got, mean)
