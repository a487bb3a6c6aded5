"""The dashboard's API on an emulated twin: forecast bands, backtest, calibration curves against
Kaplan-Meier, alarms, scenarios (saved from JSON, bad ones refused with the field), compare as
a background job with its sentences, runs, the live feed (a message after new events), and
small counts suppressed on the way out."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

import twinsight
from twinsight.emulate import emulate_hospital, write_events
from twinsight.govern import AccessStore
from twinsight.service import ServiceSettings, create_app

TWIN = "/api/v1/twins/ward"


class Served:
    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client = client
        self.tokens = tokens

    def call(self, method: str, path: str, role: str = "analyst", **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        return self.client.request(method, path, headers=headers, **kw)

    def stream(self, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens['viewer']}"}
        return self.client.stream("GET", path, headers=headers, **kw)

    def wait(self, job: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
        """Poll the job until it is no longer running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.call("GET", f"{TWIN}/jobs", params={"id": job["id"]}).json()["jobs"]
            if found[0]["status"] != "running":
                return dict(found[0])
            time.sleep(0.1)
        raise AssertionError(f"job {job['id']} still running after {timeout} s")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("pages")
    home = tmp / "home"
    em = emulate_hospital(70, 5, beds=120)
    write_events(em.rows, tmp / "events.csv")
    with twinsight.HospitalTwin("ward", home=home, create=True) as twin:
        twin.ingest(tmp / "events.csv")
        twin.calibrate()
    access = AccessStore(home)
    try:
        tokens = {role: access.create(role)[0] for role in ("viewer", "analyst", "admin")}
    finally:
        access.close()
    with TestClient(create_app(ServiceSettings(home=home, ingest_rate=None))) as client:
        yield Served(client, tokens)


def test_forecast_is_made_in_the_background_and_answered_as_ordered_bands(served: Served) -> None:
    assert served.call("GET", f"{TWIN}/forecast", "viewer").json()["available"] is False
    started = served.call("POST", f"{TWIN}/forecast", json={"days": 2, "reps": 60})
    assert started.status_code == 202 and started.json()["status"] == "running"
    job = served.wait(started.json())
    assert job["status"] == "done", job["error"]
    out = served.call("GET", f"{TWIN}/forecast", "viewer").json()
    assert out["available"] and out["reps"] == 60 and out["line"] == 0.85
    assert {"ED", "MED1", "ICU"} <= set(out["units"])
    for unit in out["units"].values():
        assert len(unit["time"]) == 48  # hourly bins over 2 days
        for row in zip(unit["p5"], unit["p25"], unit["p50"], unit["p75"], unit["p95"], strict=True):
            assert list(row) == sorted(row)
    runs = served.call("GET", f"{TWIN}/runs", "viewer").json()["runs"]
    assert runs[0]["kind"] == "forecast" and runs[0]["run_id"] == job["result"]["run_id"]
    # a viewer reads but may not compute
    assert served.call("POST", f"{TWIN}/forecast", "viewer").status_code == 403


def test_calibration_curves_fitted_against_kaplan_meier(served: Served) -> None:
    out = served.call("GET", f"{TWIN}/calibration", "viewer").json()
    assert out["available"] and out["arrivals_per_hour"] > 0
    assert {u["unit"] for u in out["units"]} == {"ICU", "MED1", "MED2", "ORTHO", "SURG"}
    for u in out["units"]:
        assert u["fitted"][0] == pytest.approx(1.0, abs=1e-3)
        assert u["fitted"] == sorted(u["fitted"], reverse=True)
        emp = [x for x in u["empirical"] if x is not None]
        assert emp and emp == sorted(emp, reverse=True)
        # a chosen fit is close to the data it was fitted on: within its KS distance + grid slack
        gap = max(
            abs(f - e) for f, e in zip(u["fitted"], u["empirical"], strict=True) if e is not None
        )
        assert gap <= u["ks"] + 0.05, (u["unit"], gap, u["ks"])


def test_scenario_saved_refused_and_compared_with_sentences(served: Served) -> None:
    good = {"name": "beds6", "description": "Six more MED1 beds",
            "interventions": [{"beds": {"unit": "MED1", "change": 6}}]}  # fmt: skip
    assert served.call("POST", f"{TWIN}/scenarios", json=good).status_code == 201
    assert served.call("POST", f"{TWIN}/scenarios", json=good).status_code == 409
    bad = {"name": "x", "interventions": [{"beds": {"unit": "MED1", "chnge": 6}}]}
    refused = served.call("POST", f"{TWIN}/scenarios", json=bad)
    assert refused.status_code == 422 and "chnge" in refused.json()["detail"]
    listed = served.call("GET", f"{TWIN}/scenarios", "viewer").json()
    assert [s["name"] for s in listed["scenarios"]] == ["beds6"]
    assert {"beds", "shift", "surge", "divert"} <= set(listed["interventions"])
    assert "unit" in listed["interventions"]["beds"]["properties"]
    missing = served.call("POST", f"{TWIN}/compare", json={"scenarios": ["nope"]})
    assert missing.status_code == 404
    job = served.wait(
        served.call("POST", f"{TWIN}/compare", json={"scenarios": ["beds6"], "reps": 20}).json()
    )
    assert job["status"] == "done", job["error"]
    result = job["result"]
    boarding = next(k for k in result["kpis"] if k["key"] == "boarding")
    sentence = boarding["scenarios"]["beds6"]["sentence"]
    assert sentence.startswith("Six more MED1 beds") and "95% CI" in sentence
    kinds = [r["kind"] for r in served.call("GET", f"{TWIN}/runs", "viewer").json()["runs"]]
    assert "compare" in kinds
    actions = [e["action"] for e in served.call("GET", f"{TWIN}/audit", "admin").json()["entries"]]
    assert "compare" in actions and "scenario" in actions


def test_a_failed_job_says_why(served: Served) -> None:
    wrong = {"name": "w", "interventions": [{"beds": {"unit": "MEDX", "change": 2}}]}
    started = served.call("POST", f"{TWIN}/compare", json={"scenarios": [wrong], "reps": 10})
    job = served.wait(started.json())
    assert job["status"] == "failed" and "MEDX" in job["error"], job


def _messages(text: str) -> list[dict[str, Any]]:
    out = []
    for block in text.split("\n\n"):
        lines = block.splitlines()
        if "event: state" in lines:
            data = next(x for x in lines if x.startswith("data: "))
            out.append(json.loads(data[len("data: ") :]))
    return out


def test_live_feed_sends_the_state_and_suppresses_small_counts(served: Served) -> None:
    with served.stream(f"{TWIN}/live", params={"max_events": 1}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        first = _messages(r.read().decode())[0]
    assert first["line"] == 0.85 and set(first["census"]) >= {"ED", "MED1"}
    for unit, n in first["census"].items():
        assert n == "<5" or n >= 5
        if first["beds"][unit] and isinstance(n, int):
            assert first["occupancy"][unit] == pytest.approx(n / first["beds"][unit], abs=1e-4)
    assert first["in_ed"] == "<5" or first["in_ed"] >= 5


def test_live_feed_sends_a_new_message_after_an_ingest(served: Served) -> None:
    state = served.call("GET", f"{TWIN}/state", "viewer").json()
    event = {"v": 1, "event_id": "live-1", "type": "arrival", "time": state["at"],
             "unit": "ED", "patient_id": "LIVE1", "acuity": 3}  # fmt: skip
    with served.stream(f"{TWIN}/live", params={"max_events": 2}) as r:
        chunks = r.iter_text()
        text = ""
        while "event: state" not in text:
            text += next(chunks)
        assert served.call("POST", f"{TWIN}/events", "admin", json=event).status_code == 200
        for chunk in chunks:
            text += chunk
    first, second = _messages(text)
    assert second["version"] > first["version"]
    assert second["sent_at"] >= first["sent_at"]


def test_optimise_finds_the_cheapest_beds_on_the_twins_model(served: Served) -> None:
    options = served.call("GET", f"{TWIN}/optimise", "viewer").json()
    assert options["available"] and "utilisation[MED1_beds]" in options["kpis"]
    med1 = options["resources"]["MED1_beds"]
    problem = {"name": "beds", "twin": {"days": 7, "present": True},
               "decisions": {"MED1_beds": {"path": med1["path"], "lower": 30, "upper": 60,
                                           "cost": 1}},
               "constraints": [{"kpi": "utilisation[MED1_beds]", "at_most": 0.85}],
               "run": {"reps": 5, "max_reps": 10}}  # fmt: skip
    on_a_file = {**{k: v for k, v in problem.items() if k != "twin"}, "spec": "/etc/x.yaml"}
    refused = served.call("POST", f"{TWIN}/optimise", json=on_a_file)
    assert refused.status_code == 422 and "twin's own model" in refused.json()["detail"]
    job = served.wait(served.call("POST", f"{TWIN}/optimise", json=problem).json())
    assert job["status"] == "done", job["error"]
    best = job["result"]["best"]
    assert best is not None, json.dumps(job["result"])[:1500]
    assert best["feasible"] and 30 <= best["decision"]["MED1_beds"] <= 60
    assert all(c["verdict"].startswith("met") and c["mean"] <= 0.85 for c in best["checks"]), best
    if best["decision"]["MED1_beds"] > 30:  # one bed fewer misses the target (it was checked)
        assert job["result"]["evaluated"] >= 2
    kinds = [r["kind"] for r in served.call("GET", f"{TWIN}/runs", "viewer").json()["runs"]]
    assert "optimise" in kinds


def test_dashboard_serves_its_own_files_and_nothing_else(served: Served) -> None:
    from importlib import resources

    from twinsight.service.routers.dashboard import ASSETS

    folder = resources.files("twinsight.service") / "dashboard"
    shipped = {p.name for p in folder.iterdir() if p.name.endswith((".js", ".css"))}
    assert shipped == set(ASSETS), "a script or style sheet in the package is not served"
    for name, media_type in ASSETS.items():
        answer = served.client.get(f"/dashboard/{name}")
        assert answer.status_code == 200 and answer.text
        assert answer.headers["content-type"].startswith(media_type)
    for name in ("index.html", "..%2Fapp.py", "nothing.js"):
        missing = served.client.get(f"/dashboard/{name}")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
