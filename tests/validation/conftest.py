"""The ``engine`` fixture of the validation suite: every test runs on both engines."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest


@pytest.fixture(params=["fast", "reference"])
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each validation runs on both engines; an engine whose package does not exist yet is
    skipped (an engine that exists but fails to import is an error, not a skip)."""
    name = str(request.param)
    if importlib.util.find_spec(f"twinsight.engines.{name}") is None:
        pytest.skip(f"engine package twinsight.engines.{name} does not exist yet")
    yield name
