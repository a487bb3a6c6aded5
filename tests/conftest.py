"""Shared fixtures: the example specs, a writer for spec files, and the CLI runner."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

#: A small valid spec: one station, one resource, Poisson arrivals (minutes).
MINIMAL = """\
twinsight: 1
name: minimal
time_unit: minutes
horizon: 600
warmup: 60
resources:
  server: {capacity: 2}
stations:
  counter:
    resources: {server: 1}
    service: {dist: exponential, mean: 1.0}
arrivals:
  - name: walk_in
    to: counter
    rate: 1.5
"""


@pytest.fixture
def examples_dir() -> Path:
    """The repository's ``examples/`` folder."""
    return EXAMPLES


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[..., Path]:
    """Write YAML text (dedented) to a file in a temporary folder and return its path."""

    def write(text: str, name: str = "spec.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def minimal_text() -> str:
    """The text of :data:`MINIMAL`."""
    return MINIMAL
