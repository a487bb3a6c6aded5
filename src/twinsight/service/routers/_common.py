"""OpenAPI descriptions shared by the routers (problem answers, request bodies)."""

from __future__ import annotations

from typing import Any

from ..problems import PROBLEM_JSON
from ..schemas import Problem

__all__ = ["ADT_EVENT_REF", "problems"]

#: The OpenAPI component of an ADT event v1 (added to the schema by ``create_app``).
ADT_EVENT_REF = "#/components/schemas/AdtEvent"


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting problem-details answers for ``statuses``."""
    return {
        status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": "problem"}
        for status in statuses
    }
