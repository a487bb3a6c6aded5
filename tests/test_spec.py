"""The spec layer: YAML and Python construction, JSON Schema, overrides, data files, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from twinsight.spec import (
    EXIT,
    Empirical,
    Exponential,
    FlowSpec,
    PoissonArrivals,
    Resource,
    Route,
    SpecError,
    Station,
    apply_overrides,
    json_schema,
    load_spec,
    parse_spec,
    validate_dict,
)


def problems_of(text: str, **kw: Any) -> list[Any]:
    with pytest.raises(SpecError) as info:
        parse_spec(text, source="t.yaml", **kw)
    return info.value.problems


def one_problem(text: str, **kw: Any) -> Any:
    found = problems_of(text, **kw)
    assert len(found) == 1, [p.render("t.yaml") for p in found]
    return found[0]


# ----- construction ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["hospital.yaml", "mmc.yaml", "acute_hospital.yaml"])
def test_examples_load(examples_dir: Path, name: str) -> None:
    spec = load_spec(examples_dir / name)
    assert spec.stations and spec.horizon > spec.warmup


def test_bundled_examples_match_repository_copies(examples_dir: Path) -> None:
    bundled = Path(__file__).resolve().parents[1] / "src" / "twinsight" / "examples"
    for name in ("hospital.yaml", "mmc.yaml", "acute_hospital.yaml"):
        assert (bundled / name).read_text() == (examples_dir / name).read_text(), name


def test_hospital_details(examples_dir: Path) -> None:
    spec = load_spec(examples_dir / "hospital.yaml")
    assert spec.time_unit.value == "hours"
    assert spec.resources["ed_doctor"].max_capacity() == 6
    treatment = spec.stations["treatment"]
    assert treatment.held_when_blocked() == {"cubicle": 1}
    assert [r.to for r in treatment.routes_for("standard")] == ["medical_ward", EXIT]
    assert spec.stations["triage"].routes_for("urgent")[0].to == "treatment"
    assert spec.wait_target_for("triage") == 4.0


def test_acute_hospital_template_has_what_a_bed_manager_plans_with(examples_dir: Path) -> None:
    """The hospital template (issue 3): triage into five acuity classes, cubicles and doctors on
    shifts, admission probability by acuity, wards by specialty and an ICU with step-down
    transfers, electives by weekday, daytime discharges, boarding, and the bed-manager KPIs."""
    spec = load_spec(examples_dir / "acute_hospital.yaml")
    acuity = {c: spec.classes[c].attributes.get("acuity") for c in spec.class_names()}
    ed_classes = [c for c, a in acuity.items() if a is not None]
    assert sorted(acuity[c] for c in ed_classes) == [1, 2, 3, 4, 5]
    # seen in acuity order
    assert sorted(ed_classes, key=lambda c: spec.classes[c].priority) == sorted(
        ed_classes, key=lambda c: acuity[c]
    )
    for staff in ("triage_nurse", "ed_doctor"):
        assert spec.resources[staff].schedule is not None, staff
    treatment = spec.stations["treatment"]
    assert treatment.held_when_blocked() == {"cubicle": 1}
    admitted = {
        c: sum(r.p for r in treatment.routes_for(c) if r.to != EXIT) for c in ed_classes
    }
    # admission probability falls with acuity (1 = most urgent)
    shares = [admitted[c] for c in sorted(ed_classes, key=lambda c: acuity[c])]
    assert shares == sorted(shares, reverse=True) and shares[0] > 0.5 > shares[-1]
    icu = spec.stations["icu"]
    assert icu.held_when_blocked() == {"icu_bed": 1}
    assert {r.to for r in icu.routes_for("critical")} == {"medical_ward", "surgical_ward", EXIT}
    wards = ("medical_ward", "surgical_ward", "ortho_ward")
    for ward in wards:
        assert spec.stations[ward].release_window is not None, ward
        assert spec.stations[ward].queue_capacity == 0, ward
    scheduled = {a.name: a for a in spec.arrivals if getattr(a, "slots", None)}
    assert {"elective_surgery", "elective_orthopaedics"} <= set(scheduled)
    assert set(spec.kpis.journeys) >= {"ed_time", "time_to_bed"}
    assert spec.kpis.journeys["ed_time"].target == 4.0


def test_python_construction_equals_yaml(minimal_text: str) -> None:
    built = FlowSpec(
        name="minimal",
        time_unit="minutes",  # type: ignore[arg-type]
        horizon=600,
        warmup=60,
        resources={"server": Resource(capacity=2)},
        stations={
            "counter": Station(
                resources={"server": 1}, service=Exponential(dist="exponential", mean=1.0)
            )
        },
        arrivals=[PoissonArrivals(name="walk_in", to="counter", rate=1.5)],
    )
    assert built == parse_spec(minimal_text)


def test_validate_dict_reports_paths_without_lines() -> None:
    data = {
        "name": "x",
        "time_unit": "hours",
        "horizon": 10,
        "stations": {"a": {"service": {"dist": "fixed", "value": 1}}},
        "arrivals": [{"name": "w", "to": "nowhere", "rate": 1}],
    }
    with pytest.raises(SpecError) as info:
        validate_dict(data)
    (problem,) = info.value.problems
    assert problem.path == "arrivals.0.to" and problem.line is None
    assert "unknown station 'nowhere'" in problem.message


def test_routing_defaults_to_exit() -> None:
    st = Station(service=Exponential(dist="exponential", mean=1.0))
    assert st.routes_for("default") == [Route(to=EXIT, p=1.0)]


# ----- JSON Schema ----------------------------------------------------------------------------


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return out + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_json_schema_is_valid_json_schema() -> None:
    schema = json_schema()
    text = json.dumps(schema)
    assert json.loads(text) == schema
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert {"name", "time_unit", "horizon", "stations"} <= set(schema["required"])
    assert schema["additionalProperties"] is False
    # aliases, as written in YAML
    arrivals = schema["$defs"]["PoissonArrivals"]["properties"]
    assert "class" in arrivals and "entity_class" not in arrivals
    # every reference resolves inside the document
    for ref in _refs(schema):
        assert ref.startswith("#/$defs/"), ref
        assert ref.split("/")[-1] in schema["$defs"], ref


def test_json_schema_checks_with_jsonschema_if_installed(examples_dir: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    data = yaml.safe_load((examples_dir / "hospital.yaml").read_text())
    jsonschema.Draft202012Validator(schema).validate(data)


# ----- overrides ------------------------------------------------------------------------------


def test_overrides_by_path_index_and_name(minimal_text: str) -> None:
    spec = parse_spec(
        minimal_text,
        overrides=[
            "horizon=1200",
            "arrivals.walk_in.rate=2.5",
            "resources.server.capacity=3",
            "stations.counter.service={dist: fixed, value: 0.5}",
        ],
    )
    assert spec.horizon == 1200
    arrival = spec.arrivals[0]
    assert isinstance(arrival, PoissonArrivals) and arrival.rate == 2.5
    assert spec.resources["server"].capacity == 3
    assert spec.stations["counter"].service.mean_value() == 0.5
    assert parse_spec(minimal_text, overrides=["arrivals.0.rate=4"]).arrivals[0].rate == 4  # type: ignore[union-attr]


def test_apply_overrides_creates_missing_keys() -> None:
    data: dict[str, Any] = {"a": {}}
    apply_overrides(data, ["a.b.c=1", "d=[1, 2]"])
    assert data == {"a": {"b": {"c": 1}}, "d": [1, 2]}


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("horizon", "needs the form path=value"),
        ("=3", "empty path"),
        ("arrivals.9.rate=1", "index 9 is out of range"),
        ("arrivals.nobody.rate=1", "no item named 'nobody'"),
        ("horizon.x=1", "inside a plain value"),
        ("horizon=[", "not valid YAML"),
    ],
)
def test_bad_overrides_are_named(minimal_text: str, override: str, expected: str) -> None:
    problem = one_problem(minimal_text, overrides=[override])
    assert problem.path == "--set"
    assert expected in problem.message


def test_override_that_breaks_the_spec_says_so(minimal_text: str) -> None:
    problem = one_problem(minimal_text, overrides=["horizon=-5"])
    assert problem.path == "horizon" and problem.line == 4
    assert "--set horizon" in problem.message


def test_every_bad_override_is_reported(minimal_text: str) -> None:
    found = problems_of(minimal_text, overrides=["nope", "warmup=-1", "arrivals.x.rate=1"])
    assert [p.path for p in found] == ["--set", "--set", "warmup"]


# ----- empirical data from a CSV file ---------------------------------------------------------


EMPIRICAL = """\
name: e
time_unit: hours
horizon: 100
stations:
  ward:
    service: {dist: empirical, file: stays.csv, column: los_hours}
arrivals:
  - {name: a, to: ward, rate: 1}
"""


def test_empirical_reads_a_csv_next_to_the_spec(write_spec: Callable[..., Path]) -> None:
    path = write_spec(EMPIRICAL)
    (path.parent / "stays.csv").write_text("patient,los_hours\n1,20.5\n2,40\n\n3,3.5\n")
    service = load_spec(path).stations["ward"].service
    assert isinstance(service, Empirical)
    assert service.values == [20.5, 40.0, 3.5]
    assert service.mean_value() == pytest.approx(64.0 / 3)


def test_empirical_first_column_without_header(write_spec: Callable[..., Path]) -> None:
    path = write_spec(EMPIRICAL.replace(", column: los_hours", ""))
    (path.parent / "stays.csv").write_text("1.5\n2.5\n")
    assert load_spec(path).stations["ward"].service.mean_value() == 2.0


@pytest.mark.parametrize(
    ("csv", "expected"),
    [
        (None, "cannot read data file"),
        ("", "is empty"),
        ("x,y\n1,2\n", "has no column 'los_hours'"),
        ("los_hours\n1\nabc\n", "row 3"),
    ],
)
def test_empirical_file_problems(
    write_spec: Callable[..., Path], csv: str | None, expected: str
) -> None:
    path = write_spec(EMPIRICAL)
    if csv is not None:
        (path.parent / "stays.csv").write_text(csv)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    (problem,) = info.value.problems
    assert problem.path == "stations.ward.service.file"
    assert problem.line == 6
    assert expected in problem.message


# ----- errors: every problem, with its place and a fix ---------------------------------------


def test_malformed_yaml_has_a_line() -> None:
    problem = one_problem("name: x\nstations: [a\n")
    assert problem.line is not None and "malformed YAML" in problem.message


def test_not_a_mapping() -> None:
    assert "YAML mapping" in one_problem("- a\n- b\n").message


def test_unknown_field_suggests_the_right_one(minimal_text: str) -> None:
    text = minimal_text.replace("service: {", "servce: {")
    found = problems_of(text)
    by_path = {p.path: p for p in found}
    typo = by_path["stations.counter.servce"]
    assert "did you mean 'service'" in typo.message
    assert (typo.line, typo.column) == (11, 5)  # the key itself
    assert "stations.counter.service" in by_path  # and the missing one


def test_unknown_field_lists_what_is_allowed(minimal_text: str) -> None:
    problem = one_problem(minimal_text + "colour: red\n")
    assert problem.path == "colour" and (problem.line, problem.column) == (16, 1)
    assert "allowed here" in problem.message and "stations" in problem.message


def test_union_tags_are_not_in_paths(minimal_text: str) -> None:
    problem = one_problem(minimal_text.replace("mean: 1.0", "mean: -1.0"))
    assert problem.path == "stations.counter.service.mean"
    assert (problem.line, problem.column) == (11, 40)


def test_negative_rate(minimal_text: str) -> None:
    problem = one_problem(minimal_text.replace("rate: 1.5", "rate: -2"))
    assert problem.path == "arrivals.0.rate" and problem.line == 15
    assert "greater than or equal to 0" in problem.message


def test_unknown_distribution_kind(minimal_text: str) -> None:
    problem = one_problem(minimal_text.replace("dist: exponential", "dist: expo"))
    assert problem.path == "stations.counter.service"
    assert "twinsight schema" in problem.message


def test_routing_must_sum_to_one(minimal_text: str) -> None:
    text = minimal_text.replace(
        "    service: {dist: exponential, mean: 1.0}\n",
        "    service: {dist: exponential, mean: 1.0}\n"
        "    routing:\n      - {to: counter, p: 0.3}\n      - {to: exit, p: 0.6}\n",
    )
    problem = one_problem(text)
    assert problem.path == "stations.counter.routing" and problem.line == 13
    assert "sum to 0.9" in problem.message and "exit" in problem.message


def test_unknown_resource_and_too_much_of_one(minimal_text: str) -> None:
    text = minimal_text.replace("resources: {server: 1}", "resources: {server: 3, doctor: 1}")
    found = problems_of(text)
    assert [p.path for p in found] == [
        "stations.counter.resources.server",
        "stations.counter.resources.doctor",
    ]
    assert "never has more than 2" in found[0].message
    assert "declare it under 'resources'" in found[1].message
    assert all(p.line == 10 for p in found)


def test_unsorted_schedule(minimal_text: str) -> None:
    text = minimal_text.replace(
        "server: {capacity: 2}",
        'server:\n    schedule:\n      steps:\n        - {at: "08:00", capacity: 2}\n'
        '        - {at: "07:00", capacity: 1}',
    )
    problem = one_problem(text)
    assert problem.path == "resources.server.schedule"
    assert "increasing time order" in problem.message and problem.line == 9


def test_station_needing_more_than_a_schedule_ever_has(minimal_text: str) -> None:
    text = minimal_text.replace(
        "server: {capacity: 2}",
        'server:\n    schedule:\n      steps:\n        - {at: "08:00", capacity: 1}\n'
        '        - {at: "18:00", capacity: 0}',
    ).replace("resources: {server: 1}", "resources: {server: 2}")
    problem = one_problem(text)
    assert "never has more than 1" in problem.message


def test_duplicate_keys_are_problems(minimal_text: str) -> None:
    text = minimal_text + "horizon: 700\n"
    problem = one_problem(text)
    assert problem.path == "horizon" and problem.line == 16
    assert "appears twice" in problem.message


def test_all_problems_at_once(minimal_text: str) -> None:
    text = (
        minimal_text.replace("horizon: 600", "horizon: -600")
        .replace("mean: 1.0", "mean: 0")
        .replace("rate: 1.5", "rate: -1")
        + "extra: 1\n"
    )
    found = problems_of(text)
    assert [p.path for p in found] == [
        "horizon",
        "stations.counter.service.mean",
        "arrivals.0.rate",
        "extra",
    ]
    assert [p.line for p in found] == sorted(p.line for p in found)


def test_render_names_file_line_column_path(minimal_text: str) -> None:
    problem = one_problem(minimal_text.replace("rate: 1.5", "rate: -2"))
    assert problem.render("a.yaml").startswith("a.yaml:15:11: arrivals.0.rate: ")


def test_missing_file_and_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path / "missing.yaml")
    assert "no such file" in info.value.problems[0].message
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SpecError) as info:
        load_spec(bad)
    assert "UTF-8" in info.value.problems[0].message


def test_references_are_checked_even_when_fields_are_invalid(minimal_text: str) -> None:
    text = (
        minimal_text.replace("rate: 1.5", "rate: -1")
        .replace("resources: {server: 1}", "resources: {server: 3, doctor: 1}")
        .replace(
            "mean: 1.0}\n",
            "mean: 1.0}\n    routing:\n      - {to: nowhere, p: 0.5}\n      - {to: exit, p: 0.4}\n",
        )
    )
    found = problems_of(text)
    assert [p.path for p in found] == [
        "stations.counter.resources.server",  # more than the capacity
        "stations.counter.resources.doctor",  # unknown resource
        "stations.counter.routing",  # sums to 0.9
        "stations.counter.routing.0.to",  # unknown station
        "arrivals.0.rate",  # negative
    ]


def test_no_spurious_reference_problems_from_invalid_parts(minimal_text: str) -> None:
    # an invalid resource or arrival stream must not also appear as 'unknown' or 'missing'
    text = minimal_text.replace("server: {capacity: 2}", "server: {capacity: -2}").replace(
        "rate: 1.5", "rate: -1.5"
    )
    assert [p.path for p in problems_of(text)] == ["resources.server.capacity", "arrivals.0.rate"]
