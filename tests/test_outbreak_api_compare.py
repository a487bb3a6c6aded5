"""``POST /twins/{name}/outbreak/compare``: the library's comparison over HTTP (same numbers),
analysts only, and unreadable scenarios (or names that are paths) as 422 problems."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from twinsight.govern import AccessStore
from twinsight.outbreak import ingest, run_calibration, run_compare
from twinsight.service import ServiceSettings, create_app
from twinsight.twin import init_twin, open_twin

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "outbreak"
URL = "/api/v1/twins/flu/outbreak/compare"


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, dict[str, str], Path]]:
    home = tmp_path_factory.mktemp("home")
    flu = init_twin("flu", template="outbreak", home=home)
    config = yaml.safe_load((flu.path / "twin.yaml").read_text(encoding="utf-8"))
    config.update(yaml.safe_load((EXAMPLES / "twin.yaml").read_text(encoding="utf-8")))
    (flu.path / "twin.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    ingest(flu, [EXAMPLES / "admissions.csv"])
    run_calibration(flu)
    (flu.path / "scenarios").mkdir()
    (flu.path / "scenarios" / "mild.yaml").write_text("measures: [{day: 5, reduction: 0.1}]\n")
    flu.close()
    access = AccessStore(home)
    try:
        tokens = {role: access.create(role)[0] for role in ("viewer", "analyst")}
    finally:
        access.close()
    settings = ServiceSettings(home=home, ingest_rate=None, denied_rate=None)
    with TestClient(create_app(settings)) as client:
        yield client, tokens, home


def test_compare_over_http_equals_the_library(
    served: tuple[TestClient, dict[str, str], Path],
) -> None:
    client, tokens, home = served
    body = {"scenarios": ["distancing=30%@10", "mild"], "days": 30, "reps": 20, "seed": 3}
    auth = {"Authorization": f"Bearer {tokens['analyst']}"}
    r = client.post(URL, json=body, headers=auth)
    assert r.status_code == 200, r.text
    got = r.json()
    twin = open_twin("flu", home=home)
    try:
        want = run_compare(twin, ["distancing=30%@10", "mild"], 30, reps=20, seed=3).to_json()
    finally:
        twin.close()
    assert got["kpis"] == want["kpis"] and got["twin"] == "flu" and got["reps"] == 20
    assert [s["name"] for s in got["scenarios"]] == ["distancing", "mild"]
    viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
    assert client.post(URL, json=body, headers=viewer).status_code == 403
    for bad in (["x=30@10"], ["../../etc/passwd"], ["nothere"]):
        r = client.post(URL, json={"scenarios": bad}, headers=auth)
        assert r.status_code == 422 and r.json()["type"].endswith("invalid-scenario"), r.text
        assert str(home) not in r.text
