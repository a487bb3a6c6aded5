"""Natural event keys (events without an ``event_id``): led by their UTC time, migrated exactly.

Migration 0008 rewrote stored ``nk:<hash>`` keys as ``nk:<UTC time digits>:<hash>``; the ingest
makes new keys by the same rule. Tested on a store filled the old way (keys by the previous
rule, written out here) on SQLite and PostgreSQL: after the upgrade its keys are exactly the
ones a fresh ingest makes, so replaying the file adds nothing; the downgrade gives the old keys
back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from twinsight.connect import ingest_path
from twinsight.govern import Pseudonymiser
from twinsight.store import AdtEventRow, make_engine, open_store
from twinsight.store._migrate import _config, upgrade

SECRET = Pseudonymiser(b"natural keys: sixteen bytes or more")
ROWS = [
    "arrival,2026-01-05T10:00:00Z,ED,,p1",
    "admit,2026-01-05T13:30:00.250Z,MED1,ED,p1",  # a fraction of a second
    "arrival,2026-01-05T11:00:00+01:00,ED,,p2",  # the same instant as 10:00Z, another patient
    "transfer,2026-01-06T09:15:00-05:00,ICU,MED1,p1",
    "discharge,2026-01-07T08:00:00+00:00,ICU,,p1",
    "arrival,0999-03-01T00:00:00Z,ED,,p3",  # a year before 1000
]


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | Path]:
    if request.param == "sqlite":
        yield tmp_path / "store.db"
    else:
        yield request.getfixturevalue("pg_url")


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "no-ids.csv"
    path.write_text("type,time,unit,from_unit,patient_id\n" + "\n".join(ROWS) + "\n")
    return path


def _keys(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        rows = conn.execute(select(AdtEventRow.id, AdtEventRow.event_key))
        return {int(row_id): str(key) for row_id, key in rows}


def _old_rule(engine: Engine) -> dict[int, str]:
    """The keys the ingest made before 0008: ``nk:`` + SHA-256 of the natural key."""
    out = {}
    with engine.connect() as conn:
        query = select(
            AdtEventRow.id,
            AdtEventRow.patient_key,
            AdtEventRow.type,
            AdtEventRow.time,
            AdtEventRow.unit,
        )
        for row_id, patient, kind, time, unit in conn.execute(query):
            natural = f"{patient}|{kind}|{time.astimezone(UTC).isoformat()}|{unit}"
            out[row_id] = "nk:" + hashlib.sha256(natural.encode()).hexdigest()
    return out


def _downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_upgrading_a_store_with_data_keeps_a_replay_adding_nothing(
    target: str | Path, tmp_path: Path
) -> None:
    path = _file(tmp_path)
    engine = make_engine(target)
    try:
        upgrade(engine, "0007")  # the schema before natural keys were ordered
        first = ingest_path(path, engine, SECRET)
        assert (first.accepted, first.quarantined) == (len(ROWS), 0)
        old = _old_rule(engine)
        with engine.begin() as conn:  # the store as the previous code filled it
            for row_id, key in old.items():
                conn.execute(
                    update(AdtEventRow).where(AdtEventRow.id == row_id).values(event_key=key)
                )
        upgrade(engine)
        migrated = _keys(engine)
        for row_id, key in migrated.items():  # the time in front, the same hash behind
            assert key != old[row_id] and key.endswith(":" + old[row_id][3:])
        again = ingest_path(path, engine, SECRET)
        assert (again.accepted, again.duplicate) == (0, len(ROWS))
        _downgrade(engine, "0007")
        assert _keys(engine) == old
        upgrade(engine)
        assert _keys(engine) == migrated
    finally:
        engine.dispose()

    fresh = open_store(tmp_path / "fresh.db")
    try:
        ingest_path(path, fresh, SECRET)
        made = _keys(fresh)
    finally:
        fresh.dispose()
    if isinstance(target, Path):  # the same backend: the same keys as a fresh ingest makes
        assert made == migrated


def test_natural_keys_sort_by_time_and_keep_the_whole_hash(tmp_path: Path) -> None:
    path = _file(tmp_path)
    engine = open_store(tmp_path / "store.db")
    try:
        ingest_path(path, engine, SECRET)
        with engine.connect() as conn:
            rows = conn.execute(
                select(AdtEventRow.event_key, AdtEventRow.time).order_by(AdtEventRow.event_key)
            ).all()
    finally:
        engine.dispose()
    times = [t for _, t in rows]
    assert times == sorted(times)
    for key, time in rows:
        prefix, digits, digest = key.split(":")
        assert prefix == "nk" and len(digest) == 64
        if time.year >= 1000:
            assert digits == time.strftime("%Y%m%d%H%M%S%f")
