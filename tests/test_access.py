"""API tokens: shown once, stored hashed, scoped to twins, revocable; roles and actions."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from twinsight.govern import ACCESS_DB, ACTIONS, ROLES, AccessError, AccessStore, allowed


@pytest.fixture
def access(tmp_path: Path) -> Iterator[AccessStore]:
    store = AccessStore(tmp_path)
    yield store
    store.close()


def test_a_token_is_stored_only_as_its_hash(access: AccessStore, tmp_path: Path) -> None:
    token, info = access.create("device", ["ward"], name="monitor 3")
    assert token.startswith(f"tsk_{info.id}_") and len(token) == 4 + 9 + 43
    access.close()
    data = b"".join(p.read_bytes() for p in tmp_path.glob(f"{ACCESS_DB}*"))
    secret = token.rsplit("_", 1)[1]
    assert secret.encode() not in data and token.encode() not in data
    with sqlite3.connect(tmp_path / ACCESS_DB) as conn:
        (stored,) = conn.execute("SELECT hash FROM tokens").fetchone()
    assert stored == hashlib.sha256(token.encode()).hexdigest()


def test_authenticate_gives_role_and_scope(access: AccessStore) -> None:
    token, info = access.create("viewer", ["ward", "icu"])
    who = access.authenticate(token)
    assert who is not None and who.actor == f"token:{info.id}"
    assert who.may("read", "ward") and who.may("read", "icu") and not who.may("read", "other")
    assert not who.may("ingest", "ward")
    admin, _ = access.create("admin")
    boss = access.authenticate(admin)
    assert boss is not None and boss.twins is None and boss.may("admin", "anything")
    for bad in ("", "Bearer x", token + "x", token[:-1] + ("A" if token[-1] != "A" else "B")):
        assert access.authenticate(bad) is None


def test_revoked_tokens_stop_working_and_stay_listed(access: AccessStore) -> None:
    token, info = access.create("analyst", name="ana")
    assert access.revoke(info.id).revoked_at is not None
    assert access.authenticate(token) is None
    (listed,) = access.list()
    assert listed.id == info.id and listed.revoked_at is not None
    assert listed.to_json()["twins"] == ["*"]
    with pytest.raises(AccessError, match="no token"):
        access.revoke("deadbeef")


def test_bad_requests_say_what_to_do(access: AccessStore) -> None:
    with pytest.raises(AccessError, match="no role 'owner'"):
        access.create("owner")
    with pytest.raises(AccessError, match="every twin"):
        access.create("admin", ["ward"])
    with pytest.raises(AccessError, match="not a twin name"):
        access.create("viewer", ["../x"])


def test_the_role_table() -> None:
    table = {role: {a for a in ACTIONS if allowed(role, a)} for role in ROLES}
    assert table == {
        "viewer": {"read"},
        "analyst": {"read", "analyse"},
        "admin": {"read", "analyse", "ingest", "admin"},
        "device": {"ingest"},
    }
