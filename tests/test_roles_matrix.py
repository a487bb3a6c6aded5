"""Every route of the service against every role: 2xx where the role table allows, 403 where it
does not, 401 without a token. A route missing from ``MATRIX`` fails the test: a new endpoint
must say who may call it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from _twins import casework_twin, contact_twin, outbreak_twin, patient_twin, role_tokens
from twinsight.govern import ROLES, AccessStore
from twinsight.service import ServiceSettings, create_app
from twinsight.twin import init_twin

PUBLIC = "public"
READ = {"viewer", "analyst", "admin"}
INGEST = {"device", "admin"}
ADMIN = {"admin"}
ANALYSE = {"analyst", "admin"}

TWIN = "/api/v1/twins/{name}"
#: (method, route path) -> roles allowed (PUBLIC: no token needed).
MATRIX: dict[tuple[str, str], set[str] | str] = {
    ("GET", "/api/v1/health"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/api/v1/twins"): READ,
    ("GET", f"{TWIN}/state"): READ,
    ("POST", f"{TWIN}/events"): INGEST,
    ("POST", f"{TWIN}/events/batch"): INGEST,
    ("GET", f"{TWIN}/audit"): ADMIN,
    ("GET", f"{TWIN}/audit/verify"): ADMIN,
    # the dashboard's API (docs/dashboard.md): reads for viewers, computations for analysts
    ("GET", f"{TWIN}/forecast"): READ,
    ("POST", f"{TWIN}/forecast"): ANALYSE,
    ("GET", f"{TWIN}/backtest"): READ,
    ("POST", f"{TWIN}/backtest"): ANALYSE,
    ("GET", f"{TWIN}/jobs"): READ,
    ("GET", f"{TWIN}/calibration"): READ,
    ("POST", f"{TWIN}/calibration"): ANALYSE,
    ("GET", f"{TWIN}/alarms"): READ,
    ("POST", f"{TWIN}/alarms"): ANALYSE,
    ("GET", f"{TWIN}/scenarios"): READ,
    ("POST", f"{TWIN}/scenarios"): ANALYSE,
    ("POST", f"{TWIN}/compare"): ANALYSE,
    ("GET", f"{TWIN}/optimise"): READ,
    ("POST", f"{TWIN}/optimise"): ANALYSE,
    ("GET", f"{TWIN}/runs"): READ,
    ("GET", f"{TWIN}/live"): READ,
    ("GET", "/"): PUBLIC,
    ("GET", "/dashboard/{asset}"): PUBLIC,
    # the outbreak and patient twins (docs/service.md): run on twins 'flu' and 'bp'
    ("GET", f"{TWIN}/outbreak/forecast"): READ,
    ("POST", f"{TWIN}/outbreak/calibrate"): ANALYSE,
    ("GET", f"{TWIN}/outbreak/chime"): READ,
    ("POST", f"{TWIN}/outbreak/observations"): INGEST,
    ("POST", f"{TWIN}/outbreak/compare"): ANALYSE,
    ("GET", f"{TWIN}/patient/readings"): READ,
    ("POST", f"{TWIN}/patient/readings"): INGEST,
    ("GET", f"{TWIN}/patient/recommendation"): ANALYSE,
    # the contact-centre twin (docs/service.md): run on twin 'cc'
    ("GET", f"{TWIN}/contact/staffing"): READ,
    ("GET", f"{TWIN}/contact/calibration"): READ,
    ("GET", f"{TWIN}/contact/forecast"): READ,
    ("POST", f"{TWIN}/contact/interactions"): INGEST,
    # the social-services twin (docs/service.md): run on twin 'ss'
    ("GET", f"{TWIN}/casework/forecast"): READ,
    ("GET", f"{TWIN}/casework/equity"): READ,
    ("POST", f"{TWIN}/casework/events"): INGEST,
}
_SCENARIO = {"name": "more-beds", "interventions": [{"beds": {"unit": "MED1", "change": 2}}]}
_PROBLEM = {"name": "beds", "twin": {"days": 7},
            "decisions": {"med1": {"path": "resources.MED1_beds.capacity", "lower": 10,
                                   "upper": 12, "cost": 1}},
            "constraints": [{"kpi": "utilisation[MED1_beds]", "at_most": 0.85}]}  # fmt: skip


def _event(i: int) -> dict[str, Any]:
    return {"v": 1, "event_id": f"m-{i}", "type": "arrival", "time": "2026-03-02T08:15:00Z",
            "unit": "ED", "patient_id": f"P{i}", "acuity": 3}  # fmt: skip


def _request(method: str, path: str, i: int) -> dict[str, Any]:
    """What to send to ``path`` so that an allowed role gets a 2xx."""
    if path.endswith("/casework/events"):
        return {"json": [{"case_id": f"M{i}", "type": "referral",
                          "time": "2026-05-04T09:00:00Z", "district": "north"}]}  # fmt: skip
    if path.endswith("/events"):
        return {"json": _event(i)}
    if path.endswith("/events/batch"):
        return {"json": [_event(i + 1000)]}
    if path.endswith("/scenarios") and method == "POST":
        return {"json": _SCENARIO, "params": {"replace": "true"}}
    if path.endswith("/outbreak/compare"):
        return {"json": {"scenarios": ["distancing=30%@10"], "days": 10, "reps": 10}}
    if path.endswith("/compare"):
        return {"json": {"scenarios": [_SCENARIO], "reps": 10}}
    if path.endswith("/optimise") and method == "POST":
        return {"json": _PROBLEM}
    if path.endswith("/outbreak/observations"):
        return {"json": [{"date": "2020-07-01", "admissions": 3}]}
    if path.endswith("/patient/readings") and method == "POST":
        return {"json": [{"patient_id": "P-0042", "time": "2026-10-14T08:00:00Z",
                          "systolic": 140, "diastolic": 88}]}  # fmt: skip
    if path.endswith("/contact/interactions"):
        return {"json": [{"arrived_at": "2026-01-19T09:00:00Z", "queue": "billing",
                          "wait_seconds": 12, "answered": True, "handle_seconds": 300,
                          "interaction_id": f"m-{i}"}]}  # fmt: skip
    if path.endswith("/casework/forecast"):
        return {"params": {"days": 7, "reps": 2}}
    if path.endswith("/casework/equity"):
        return {"params": {"days": 30, "reps": 2}}
    if path.endswith("/contact/forecast"):
        return {"params": {"days": 1, "reps": 2}}
    if path.endswith("/outbreak/forecast"):
        return {"params": {"days": 3, "runs": 20}}
    if path.endswith("/live"):  # one message, then the stream ends
        return {"params": {"max_events": 1}}
    return {}


def _routes() -> list[tuple[str, str]]:
    """(method, path) of every route, routers included (FastAPI >= 0.165 nests them)."""
    found = []
    for route in iter_route_contexts(create_app().routes):
        for method in sorted(set(route.methods or ()) - {"HEAD", "OPTIONS"}):
            found.append((method, str(route.path)))
    assert found, "no routes found: has FastAPI's routing API changed?"
    return found


class Fixture:
    def __init__(self, client: TestClient, tokens: dict[str, str], other: str) -> None:
        self.client = client
        self.tokens = tokens
        self.other = other


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fixture]:
    home = tmp_path_factory.mktemp("home")
    init_twin("ward", home=home).close()
    init_twin("icu", home=home).close()
    outbreak_twin(home, "flu", calibrate=True)
    patient_twin(home, "bp")
    contact_twin(home, "cc")
    casework_twin(home, "ss")
    tokens = role_tokens(home)
    access = AccessStore(home)
    try:
        other, _ = access.create("viewer", ["icu"])  # a token scoped to one twin
    finally:
        access.close()
    settings = ServiceSettings(home=home, ingest_rate=None, denied_rate=None)
    with TestClient(create_app(settings)) as client:
        client.post("/api/v1/twins/ward/events", json=_event(0),
                    headers={"Authorization": f"Bearer {tokens['admin']}"})  # fmt: skip
        yield Fixture(client, tokens, other)


def test_every_route_is_in_the_matrix() -> None:
    routes = _routes()
    missing = [r for r in routes if r not in MATRIX]
    assert missing == [], f"add these routes to MATRIX with the roles allowed: {missing}"
    assert sorted(MATRIX) == sorted(routes), "MATRIX lists routes that do not exist"


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
def test_each_role_gets_2xx_or_403(served: Fixture, method: str, path: str) -> None:
    twin = "flu" if "/outbreak/" in path else "bp" if "/patient/" in path else "ward"
    twin = "cc" if "/contact/" in path else "ss" if "/casework/" in path else twin
    url = path.replace("{name}", twin).replace("{asset}", "app.js")
    allowed = MATRIX[(method, path)]
    for i, role in enumerate([*ROLES, None]):
        headers = {"Authorization": f"Bearer {served.tokens[role]}"} if role else {}
        response = served.client.request(
            method, url, headers=headers, **_request(method, path, 10 * i)
        )
        code = response.status_code
        if allowed == PUBLIC or (role is not None and role in allowed):
            assert 200 <= code < 300, f"{role} {method} {url}: {code} {response.text}"
        elif role is None:
            assert code == 401, f"no token {method} {url}: {code}"
            assert response.headers["www-authenticate"] == "Bearer"
        else:
            assert code == 403, f"{role} {method} {url}: {code} {response.text}"
            assert response.json()["type"] == "urn:twinsight:problem:forbidden"


def test_a_token_acts_only_on_the_twins_of_its_access_list(served: Fixture) -> None:
    headers = {"Authorization": f"Bearer {served.other}"}
    assert served.client.get("/api/v1/twins/icu/state", headers=headers).status_code in (200, 409)
    denied = served.client.get("/api/v1/twins/ward/state", headers=headers)
    assert denied.status_code == 403 and "no access to twin 'ward'" in denied.json()["detail"]
    # an unknown twin is 403 too, for a scoped token: it learns nothing about other names
    assert served.client.get("/api/v1/twins/zzz/state", headers=headers).status_code == 403
    twins = served.client.get("/api/v1/twins", headers=headers).json()["twins"]
    assert [t["name"] for t in twins] == ["icu"]
