"""Fuzz the HTTP API from its own OpenAPI schema (schemathesis): no answer is a server error.

Every operation of ``/openapi.json`` gets requests generated from its schema (path and query
parameters, bodies; valid and invalid ones), sent with an admin token to the app served
in-process (``TestClient`` with the lifespan running) for a twin that holds a few events. Each
answer must not be a 5xx (``not_a_server_error``; a ``503`` would mean the store failed, which
cannot happen here) and must conform to the schema where the schema declares it: its status
code is documented, its content type and body match (``status_code_conformance``,
``content_type_conformance``, ``response_schema_conformance``). The twin's path parameter is
the existing twin, so the routes get past their 404. Left out: ``GET .../live`` (a stream that
stays open by design; ``tests/test_dashboard*.py`` cover it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from twinsight.govern import AccessStore
from twinsight.service import ServiceSettings, create_app
from twinsight.twin import init_twin

#: Generated requests per operation (about 30 operations; the test stays under a minute).
EXAMPLES = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schemathesis.serializer("application/x-ndjson", "application/jsonl")
def _ndjson(ctx: Any, value: Any) -> bytes:
    """An NDJSON batch body: the schema's string (one event per line) as UTF-8."""
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


schema = schemathesis.openapi.from_dict(create_app(ServiceSettings(home=Path("."))).openapi())
schema = schema.exclude(path_regex=r"/live$")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    """The app for a home with the twin ``ward`` (a few events in it) and an admin token."""
    home = tmp_path_factory.mktemp("fuzz")
    init_twin("ward", home=home).close()
    access = AccessStore(home)
    try:
        token, _ = access.create("admin", name="fuzz")
    finally:
        access.close()
    app = create_app(ServiceSettings(home=home, ingest_rate=None, denied_rate=None))
    with TestClient(app, raise_server_exceptions=False) as client:
        events = [
            {"v": 1, "event_id": f"f-{i}", "type": "arrival", "unit": "ED", "acuity": 3,
             "time": f"2026-03-02T08:{i:02d}:00Z", "patient_id": f"MRN{i:04d}"}
            for i in range(10)
        ]  # fmt: skip
        answer = client.post(
            "/api/v1/twins/ward/events/batch",
            content=json.dumps(events),
            headers={"Authorization": f"Bearer {token}", "content-type": "application/json"},
        )
        assert answer.status_code == 200, answer.text
        yield client, token


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_a_server_error(case: Any, served: tuple[TestClient, str]) -> None:
    client, token = served
    if case.path_parameters and "name" in case.path_parameters:
        case.path_parameters["name"] = "ward"
    kwargs = case.as_transport_kwargs(headers={"Authorization": f"Bearer {token}"})
    response = client.request(**_for_httpx(kwargs))
    case.validate_response(response, checks=CHECKS)


def _for_httpx(kwargs: dict[str, Any]) -> dict[str, Any]:
    """schemathesis's request arguments (requests-style) for the TestClient (httpx)."""
    out = {k: v for k, v in kwargs.items() if k in ("method", "url", "headers", "params")}
    url = out["url"]
    out["url"] = url[url.index("/api/") :] if "/api/" in url else url
    if "json" in kwargs:
        out["content"] = json.dumps(kwargs["json"]).encode()
        out.setdefault("headers", {}).setdefault("Content-Type", "application/json")
    elif "data" in kwargs:
        data = kwargs["data"]
        out["content"] = data if isinstance(data, bytes) else str(data).encode()
    return out
