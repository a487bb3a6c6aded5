"""The outbreak and patient twins' endpoints end to end on real twins made from
``examples/outbreak`` and ``examples/patient`` (tokens on, as in production): the numbers equal
the library's for the same inputs, posted rows go through the file paths' checks (stored,
replayed, quarantined), bad input is a 4xx problem, a twin of another template a 409, and the
patient twin's answers say they are decision support for clinicians, not medical advice."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from _twins import EXAMPLES, Served, outbreak_twin, patient_twin, role_tokens
from _twins import problem as _problem
from twinsight.outbreak import run_chime, run_forecast
from twinsight.service import ServiceSettings, create_app
from twinsight.store import IngestRow, QuarantineRow
from twinsight.twin import init_twin, open_twin

NOTICE = "Decision support for clinicians, not medical advice"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("health") / "home"
    outbreak_twin(home, "flu")
    patient_twin(home, "bp")
    init_twin("ward", home=home).close()
    init_twin("empty", template="outbreak", home=home).close()  # no settings, no counts
    tokens = role_tokens(home)
    settings = ServiceSettings(home=home, ingest_rate=None, denied_rate=None)
    with TestClient(create_app(settings)) as client:
        yield Served(client, tokens, home)


def _example_counts() -> dict[str, dict[str, int]]:
    with (EXAMPLES / "outbreak" / "admissions.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {m: {r["date"]: int(r[m]) for r in rows if r[m]} for m in ("census", "icu")}


def test_outbreak_forecast_calibrate_and_chime_equal_the_library(served: Served) -> None:
    # before a calibration is saved: a fresh one, same numbers as the library's
    first = served.call("GET", "flu/outbreak/forecast?days=7&runs=50&seed=3", "viewer")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["calibrated"] is False and body["days"] == 7 and body["runs"] == 50
    with closing(open_twin("flu", home=served.home)) as twin:
        direct = run_forecast(twin, 7, runs=50, seed=3).to_json()
        chime = run_chime(twin).to_dict()
    assert body["metrics"] == direct["metrics"] and body["first_day"] == direct["first_day"]
    for metric in ("admissions", "census", "icu", "ventilated"):
        for row in body["metrics"][metric]:
            assert row["p5"] <= row["p25"] <= row["p50"] <= row["p75"] <= row["p95"]
    assert body["capacity"] == {"census": 2100, "icu": 620, "ventilated": 200}
    # observed counts as in the file, 1-4 people answered as "<5"
    for metric, days in _example_counts().items():
        shown = {o["date"]: o["value"] for o in body["observed"][metric]}
        assert shown == {d: ("<5" if 0 < v < 5 else v) for d, v in days.items()}
    # calibration: analysts and admins only; then the forecast uses it
    assert served.call("POST", "flu/outbreak/calibrate", "viewer").status_code == 403
    cal = served.call("POST", "flu/outbreak/calibrate", "analyst")
    assert cal.status_code == 200, cal.text
    c = cal.json()
    assert c["watermark"] == "2020-06-29" and c["converged"]
    lo, hi = c["intervals"]["R0"]
    assert lo <= c["estimates"]["R0"] <= hi
    again = served.call("GET", "flu/outbreak/forecast?days=7&runs=50&seed=3", "viewer").json()
    assert again["calibrated"] is True
    same = served.call("GET", "flu/outbreak/forecast?days=7&runs=50&seed=3", "viewer").json()
    assert same == again  # same calibration, days, runs and seed: the same numbers
    got = served.call("GET", "flu/outbreak/chime", "viewer")
    assert got.status_code == 200
    assert {k: v for k, v in got.json().items() if k != "twin"} == chime


def test_outbreak_observations_are_checked_like_a_file(served: Served) -> None:
    rows = [{"date": "2020-06-30", "admissions": 150, "census": 2000, "icu": 600}]
    posted = served.call("POST", "flu/outbreak/observations", "device", json=rows)
    assert posted.status_code == 200, posted.text
    assert posted.json()["accepted"] == 3 and posted.json()["quarantined"] == 0
    replay = served.call("POST", "flu/outbreak/observations", "device", json=rows).json()
    assert replay["accepted"] == 0 and replay["duplicate"] == 3
    bad = [
        {"date": "2020-07-01", "census": 10, "icu": 20},  # ICU above census
        {"date": "1 July", "admissions": 3},  # not a day
        {"date": "2020-07-02", "admissions": -1},  # negative
        {"date": "2020-07-03", "admissions": "many"},  # not a number
        {"date": "2020-06-30", "admissions": 151},  # conflicts with the stored count
    ]
    out = served.call("POST", "flu/outbreak/observations", "admin", json=bad).json()
    assert out["accepted"] == 1 and out["quarantined"] == 5  # census 10 on 07-01 is fine
    reasons = " ".join(out["reasons"])
    for words in ("icu 20 > census 10", "not a day", "negative", "not a number", "in the store"):
        assert words in reasons
    with closing(open_twin("flu", home=served.home)) as twin, twin.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(QuarantineRow)).scalar_one() == 5
        ingests = list(conn.execute(select(IngestRow.source)).scalars())
        rejects = set(conn.execute(select(QuarantineRow.source)).scalars())
    # posted batches are recorded as 'http', not under their temporary files' names
    assert ingests.count("http") == 3 and not any("http-counts" in s for s in ingests)
    assert rejects == {"http"}
    assert served.call("POST", "flu/outbreak/observations", "viewer", json=rows).status_code == 403


@pytest.mark.parametrize(
    ("body", "why"),
    [([], "at least 1"), ({"date": "2020-07-01"}, "list"), ([{"admissions": 3}], "date"),
     ([{"date": "2020-07-01", "beds": 3}], "beds"),
     ([{"date": "2020-07-01\r\n2020-07-02"}], "pattern")],
)  # fmt: skip
def test_malformed_batches_are_422_problems(served: Served, body: Any, why: str) -> None:
    got = served.call("POST", "flu/outbreak/observations", json=body)
    assert why in _problem(got, 422, "invalid-parameter")["detail"]


def test_bad_queries_wrong_templates_and_unready_twins_are_problems(served: Served) -> None:
    _problem(served.call("GET", "flu/outbreak/forecast?days=0"), 422, "invalid-parameter")
    _problem(served.call("GET", "flu/outbreak/forecast?runs=5"), 422, "invalid-parameter")
    for path in ("ward/outbreak/chime", "bp/outbreak/forecast", "flu/patient/readings"):
        body = _problem(served.call("GET", path), 409, "wrong-template")
        assert "twin" in body["detail"] and "--template" in body["detail"]
    body = _problem(served.call("GET", "ward/patient/recommendation"), 409, "wrong-template")
    assert body["expected"] == "patient" and body["template"] == "hospital"
    unready = _problem(served.call("GET", "empty/outbreak/forecast"), 409, "twin-not-ready")
    assert "outbreak:" in unready["detail"] and str(served.home) not in unready["detail"]
    _problem(served.call("GET", "empty/outbreak/chime"), 409, "twin-not-ready")
    _problem(served.call("GET", "nobody/outbreak/chime"), 404, "twin-not-found")


def test_patient_readings_are_pseudonymised_and_carry_the_notice(served: Served) -> None:
    got = served.call("GET", "bp/patient/readings", "viewer")
    assert got.status_code == 200
    body = got.json()
    assert body["notice"] == NOTICE
    assert body["subject"] and "P-0042" not in got.text
    assert len(body["readings"]) == 79  # the example's accepted readings
    first = body["readings"][0]
    assert first == {"time": "2026-09-01T08:00:00+00:00", "systolic": 147.0, "diastolic": 91.0}
    spec = served.client.get("/openapi.json").json()["paths"]
    for path, method in (("readings", "get"), ("recommendation", "get"), ("readings", "post")):
        operation = spec[f"/api/v1/twins/{{name}}/patient/{path}"][method]
        assert operation["description"].startswith(NOTICE)


def test_patient_recommendation_for_clinicians_only(served: Served) -> None:
    denied = served.call("GET", "bp/patient/recommendation", "viewer")
    assert denied.status_code == 403
    got = served.call("GET", "bp/patient/recommendation?top=3&days=14&seed=2", "analyst")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["notice"] == NOTICE and body["disclaimer"].startswith(NOTICE)
    assert len(body["options"]) == 3
    assert body["trajectories"][0]["regimen"] == body["current"]["regimen"]
    assert len(body["trajectories"]) == 4  # the current regimen and the top 3
    assert all(len(t["days"]) == 14 for t in body["trajectories"])
    risk = body["risk_10y"]
    assert 0 < risk["after"] < risk["before"] < 1  # the first option lowers the pressure
    again = served.call("GET", "bp/patient/recommendation?top=3&days=14&seed=2", "admin").json()
    assert again == body
    _problem(
        served.call("GET", "bp/patient/recommendation?min_probability=1.5"),
        422,
        "invalid-parameter",
    )


def test_patient_readings_posted_by_a_device(served: Served) -> None:
    rows = [
        {"patient_id": "P-0042", "time": "2026-10-14T08:00:00Z", "systolic": 139,
         "diastolic": 86},
        {"patient_id": "P-0042", "time": "2026-10-14T20:00:00Z", "systolic": 18.5,
         "diastolic": 11.5, "unit": "kPa"},
        {"patient_id": "P-0042", "time": "2026-10-15T08:00:00", "systolic": 140,
         "diastolic": 88},  # no UTC offset
        {"patient_id": "P-0042", "time": "2026-10-15T20:00:00Z", "systolic": 300,
         "diastolic": 88},  # impossible
        {"patient_id": "SOMEONE-ELSE", "time": "2026-10-16T08:00:00Z", "systolic": 130,
         "diastolic": 80},  # another patient
    ]  # fmt: skip
    before = len(served.call("GET", "bp/patient/readings").json()["readings"])
    posted = served.call("POST", "bp/patient/readings", "device", json=rows)
    assert posted.status_code == 200, posted.text
    out = posted.json()
    assert (out["accepted"], out["quarantined"], out["notice"]) == (2, 3, NOTICE)
    replay = served.call("POST", "bp/patient/readings", "device", json=rows[:2]).json()
    assert replay["accepted"] == 0 and replay["duplicate"] == 2
    readings = served.call("GET", "bp/patient/readings").json()["readings"]
    assert len(readings) == before + 2
    assert readings[-1]["systolic"] == pytest.approx(18.5 * 7.500616827, abs=0.05)
    assert served.call("POST", "bp/patient/readings", "analyst", json=rows).status_code == 403
    _problem(
        served.call("POST", "bp/patient/readings", "device", json=[{"time": "x"}]),
        422,
        "invalid-parameter",
    )
    control = [{"patient_id": "P\r", "time": "2026-10-16T08:00:00Z"}]  # a CSV cell breaker
    _problem(
        served.call("POST", "bp/patient/readings", "device", json=control), 422, "invalid-parameter"
    )
