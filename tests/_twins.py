"""Twins of every template made for the API tests from the examples and the emulators at small
sizes, tokens for each role, and a client that calls ``/api/v1/twins/...`` with one of them
(shared by tests/test_roles_matrix.py and tests/test_api_*_twins.py)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient

from twinsight.casework import emulate_casework, write_case_events
from twinsight.casework import ingest as casework_ingest
from twinsight.casework import run_calibration as casework_calibration
from twinsight.contact import emulate_contact_centre, write_interactions
from twinsight.contact import ingest as contact_ingest
from twinsight.contact import run_calibration as contact_calibration
from twinsight.govern import ROLES, AccessStore
from twinsight.outbreak import ingest as outbreak_ingest
from twinsight.outbreak import run_calibration as outbreak_calibration
from twinsight.patient import ingest_patient_file
from twinsight.twin import init_twin

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PROBLEM = "application/problem+json"


def outbreak_twin(home: Path, name: str, *, calibrate: bool = False) -> None:
    """An outbreak twin with ``examples/outbreak``'s settings and daily admissions."""
    twin = init_twin(name, template="outbreak", home=home)
    config = yaml.safe_load((twin.path / "twin.yaml").read_text(encoding="utf-8"))
    config.update(yaml.safe_load((EXAMPLES / "outbreak" / "twin.yaml").read_text("utf-8")))
    (twin.path / "twin.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    outbreak_ingest(twin, [EXAMPLES / "outbreak" / "admissions.csv"])
    if calibrate:
        outbreak_calibration(twin)
    twin.close()


def patient_twin(home: Path, name: str) -> None:
    """A patient twin with ``examples/patient``'s profile and home readings."""
    twin = init_twin(name, template="patient", home=home)
    for file in ("profile.yaml", "readings.csv"):
        ingest_patient_file(twin, EXAMPLES / "patient" / file)
    twin.close()


def contact_twin(home: Path, name: str, calls: Path | None = None) -> Path:
    """A calibrated contact-centre twin on two emulated weeks from Monday 2026-01-05 (300 calls
    on an ordinary weekday, with defects); returns the interaction file (written once)."""
    calls = calls or home / "calls.csv"
    if not calls.exists():
        calls.parent.mkdir(parents=True, exist_ok=True)
        write_interactions(emulate_contact_centre(14, 2, calls_per_day=300).rows, calls)
    twin = init_twin(name, template="contact-centre", home=home)
    contact_ingest(twin, [calls])
    contact_calibration(twin)
    twin.close()
    return calls


def casework_twin(home: Path, name: str, cases: Path | None = None) -> Path:
    """A calibrated social-services twin on 120 emulated days (two teams, four districts, with
    defects); returns the case-event file (written once)."""
    cases = cases or home / "cases.csv"
    if not cases.exists():
        cases.parent.mkdir(parents=True, exist_ok=True)
        write_case_events(emulate_casework(120, 1).rows, cases)
    twin = init_twin(name, template="social-services", home=home)
    casework_ingest(twin, [cases])
    casework_calibration(twin)
    twin.close()
    return cases


def role_tokens(home: Path, roles: Iterable[str] = ROLES) -> dict[str, str]:
    """One new token per role, on every twin of ``home``."""
    access = AccessStore(home)
    try:
        return {role: access.create(role)[0] for role in roles}
    finally:
        access.close()


class Served:
    """A client of the app on ``home`` and a token per role."""

    def __init__(self, client: TestClient, tokens: dict[str, str], home: Path) -> None:
        self.client = client
        self.tokens = tokens
        self.home = home

    def call(self, method: str, path: str, role: str = "admin", **kw: Any) -> Any:
        """``method /api/v1/twins/<path>`` with the token of ``role``."""
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        return self.client.request(method, f"/api/v1/twins/{path}", headers=headers, **kw)


def problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    """The problem-details body of ``response``, checked to be ``status`` of ``kind``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:twinsight:problem:{kind}" and body["detail"]
    return body
