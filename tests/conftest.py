"""Shared fixtures: the example specs, a writer for spec files, the CLI runner, and a fresh
PostgreSQL schema (``pg_url``) for the store tests."""

from __future__ import annotations

import os
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from twinsight.scale import DaskExecutor, ProcessPool
from twinsight.store import make_engine, open_store

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


PG_ENV = "TWINSIGHT_PG_URL"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped afterwards; skips without a server."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: the PostgreSQL variant needs a running server")
    admin = make_engine(base)
    schema = f"ts_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # any failure to reach the server: skip
        admin.dispose()
        pytest.skip(f"PostgreSQL at {PG_ENV} is unreachable: {type(exc).__name__}")
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated store on SQLite or on a fresh PostgreSQL schema (skips without a server)."""
    url = tmp_path / "store.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    engine = open_store(url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPool]:
    """One real local pool of 2 worker processes, shared by a test module's tests."""
    with ProcessPool(2) as executor:
        yield executor


@pytest.fixture(scope="module")
def dask_local() -> Iterator[DaskExecutor]:
    """One real Dask LocalCluster (2 worker processes, 1 thread each) per test module."""
    with DaskExecutor("local", workers=2) as executor:
        yield executor
