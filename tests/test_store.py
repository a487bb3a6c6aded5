"""The twin's store: migrations on SQLite and PostgreSQL, pseudonymisation, the twin home."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select, text

from twinsight.govern import (
    KEY_ENV,
    Pseudonymiser,
    PseudonymKeyError,
    create_key_file,
    load_pseudonymiser,
)
from twinsight.store import MIGRATIONS, Base, IngestRow, make_engine, open_store
from twinsight.twin import TwinError, init_twin, open_twin


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | Path]:
    """An SQLite file path, or a PostgreSQL URL on a fresh schema."""
    if request.param == "sqlite":
        yield tmp_path / "store.db"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_target: str | Path) -> Iterator[Engine]:
    """A migrated store on either backend."""
    engine = open_store(store_target)
    yield engine
    engine.dispose()


def test_migrations_create_the_tables_and_match_the_models(store: Engine) -> None:
    tables = set(inspect(store).get_table_names())
    expected = {"adt_events", "quarantine", "ingests", "alarms", "observations", "alembic_version"}
    assert expected <= tables
    with store.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    # the newest revision shipped: one linear chain of migrations, all applied
    script = ScriptDirectory(str(MIGRATIONS))
    assert script.get_heads() == [version]
    uniques = inspect(store).get_unique_constraints("adt_events")
    assert any(u["column_names"] == ["event_key"] for u in uniques)


def test_opening_again_is_a_no_op(store_target: str | Path) -> None:
    first = open_store(store_target)
    first.dispose()
    again = open_store(store_target)
    with again.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    again.dispose()


def test_instants_come_back_aware_in_utc(store: Engine) -> None:
    started = datetime(2026, 3, 2, 9, 15, tzinfo=timezone(timedelta(hours=1)))
    with store.begin() as conn:
        conn.execute(
            IngestRow.__table__.insert().values(
                source="x",
                fingerprint="f",
                format="csv",
                started_at=started,
                accepted=0,
                duplicate=0,
                quarantined=0,
                status="done",
                position=0,
            )
        )
        back = conn.execute(select(IngestRow.started_at)).scalar_one()
    assert back == started
    assert back.tzinfo is not None and back.utcoffset() == timedelta(0)


def test_sqlite_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = open_store(tmp_path / "s.db")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_a_naive_instant_is_refused(tmp_path: Path) -> None:
    engine = open_store(tmp_path / "s.db")
    with pytest.raises(Exception, match="naive datetime"), engine.begin() as conn:
        conn.execute(
            IngestRow.__table__.insert().values(
                source="x",
                fingerprint="f",
                format="csv",
                started_at=datetime(2026, 1, 1),
                accepted=0,
                duplicate=0,
                quarantined=0,
                status="done",
                position=0,
            )
        )
    engine.dispose()


# -- pseudonymisation -------------------------------------------------------------------------


def test_same_id_same_secret_gives_the_same_key() -> None:
    one, two = Pseudonymiser(b"s" * 32), Pseudonymiser(b"s" * 32)
    assert one("MRN0042") == two("MRN0042")
    assert len(one("MRN0042")) == 64 and "MRN0042" not in one("MRN0042")
    assert one("MRN0042") != one("MRN0043")


def test_a_different_secret_gives_a_different_key() -> None:
    assert Pseudonymiser(b"a" * 32)("MRN0042") != Pseudonymiser(b"b" * 32)("MRN0042")


def test_the_secret_is_never_shown_and_must_be_long_enough() -> None:
    assert "sss" not in repr(Pseudonymiser(b"s" * 32))
    with pytest.raises(PseudonymKeyError, match="shorter than 16"):
        Pseudonymiser(b"short")


def test_key_file_is_private_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    key = create_key_file(tmp_path / "secrets" / "pseudonym.key")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        create_key_file(key)
    from_file = load_pseudonymiser(key)
    monkeypatch.setenv(KEY_ENV, "an environment secret of some length")
    from_env = load_pseudonymiser(key)
    assert from_env("MRN1") != from_file("MRN1")
    assert from_env("MRN1") == Pseudonymiser(b"an environment secret of some length")("MRN1")
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(PseudonymKeyError, match="cannot read"):
        load_pseudonymiser(tmp_path / "missing.key")


# -- the twin home ----------------------------------------------------------------------------


def test_init_twin_makes_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    twin = init_twin("ward", home=tmp_path)
    twin.close()
    folder = tmp_path / "ward"
    key = folder / "secrets" / "pseudonym.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert yaml.safe_load((folder / "twin.yaml").read_text())["template"] == "hospital"
    assert (folder / "twin.db").is_file()
    again = open_twin("ward", home=tmp_path)
    assert again.template == "hospital"
    assert again.pseudonymise("MRN1") == twin.pseudonymise("MRN1")
    again.close()
    engine = make_engine(folder / "twin.db")
    assert "adt_events" in inspect(engine).get_table_names()
    engine.dispose()


def test_twin_home_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWINSIGHT_HOME", str(tmp_path / "homes"))
    init_twin("t1").close()
    assert (tmp_path / "homes" / "t1" / "twin.yaml").is_file()


def test_twin_errors_say_what_to_do(tmp_path: Path) -> None:
    init_twin("t", home=tmp_path).close()
    with pytest.raises(TwinError, match="already exists"):
        init_twin("t", home=tmp_path)
    with pytest.raises(TwinError, match="no template 'zoo'"):
        init_twin("u", template="zoo", home=tmp_path)
    with pytest.raises(TwinError, match="not a twin name"):
        init_twin("../escape", home=tmp_path)
    with pytest.raises(TwinError, match="twinsight init nobody"):
        open_twin("nobody", home=tmp_path)


def test_a_twin_on_postgresql_needs_the_url_again(tmp_path: Path, pg_url: str) -> None:
    init_twin("pg", home=tmp_path, db_url=pg_url).close()
    assert "url" in (tmp_path / "pg" / "twin.yaml").read_text()
    assert "postgres" not in (tmp_path / "pg" / "twin.yaml").read_text()
    with pytest.raises(TwinError, match="pass --db URL"):
        open_twin("pg", home=tmp_path)
    open_twin("pg", home=tmp_path, db_url=pg_url).close()
