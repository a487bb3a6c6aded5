"""OpenAPI descriptions shared by the routers (problem answers, request bodies)."""

from __future__ import annotations

from typing import Any

from ..problems import PROBLEM_JSON

__all__ = ["ADT_EVENT_REF", "PROBLEM_REF", "problems"]

#: OpenAPI components added to the schema by ``create_app``: an ADT event v1, a problem.
ADT_EVENT_REF = "#/components/schemas/AdtEvent"
PROBLEM_REF = "#/components/schemas/Problem"


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting problem-details answers for ``statuses``."""
    return {
        status: {
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
            "description": "problem details (RFC 9457)",
        }
        for status in statuses
    }
