"""API tokens: shown once, stored hashed, scoped to twins, revocable; roles and actions."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from twinsight.cli import app as cli
from twinsight.govern import ACCESS_DB, ACTIONS, ROLES, AccessError, AccessStore, allowed, audit
from twinsight.twin import init_twin


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


runner = CliRunner()


def test_token_commands_create_list_revoke_and_are_audited(tmp_path: Path) -> None:
    home = ["--home", str(tmp_path)]
    made = runner.invoke(cli, ["token", "create", "--role", "device", "--twin", "ward", *home,
                               "--name", "monitor", "--json"])  # fmt: skip
    assert made.exit_code == 0, made.output
    created = json.loads(made.stdout)
    assert created["token"].startswith("tsk_") and created["twins"] == ["ward"]
    listed = runner.invoke(cli, ["token", "list", *home, "--json"])
    (row,) = json.loads(listed.stdout)["tokens"]
    assert row["id"] == created["id"] and "token" not in row
    assert created["token"] not in listed.stdout
    revoked = runner.invoke(cli, ["token", "revoke", created["id"], *home])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    log = runner.invoke(cli, ["audit", "--access", *home, "--json"])
    actions = [e["action"] for e in json.loads(log.stdout)["entries"]]
    assert actions == ["token-create", "token-revoke"]
    assert created["token"] not in log.stdout
    ok = runner.invoke(cli, ["audit", "verify", "--access", *home])
    assert ok.exit_code == 0 and "intact: 2 entries" in ok.stdout


def test_token_commands_refuse_bad_input_with_exit_2(tmp_path: Path) -> None:
    home = ["--home", str(tmp_path)]
    bad_role = runner.invoke(cli, ["token", "create", "--role", "owner", *home])
    assert bad_role.exit_code == 2 and "no role 'owner'" in bad_role.output
    missing = runner.invoke(cli, ["token", "revoke", "deadbeef", *home])
    assert missing.exit_code == 2 and "token list" in missing.output
    nowhere = runner.invoke(cli, ["token", "list", "--home", str(tmp_path / "no")])
    assert nowhere.exit_code == 2 and "not a folder of twins" in nowhere.output
    assert "Traceback" not in bad_role.output + missing.output + nowhere.output


def test_audit_verify_exits_1_naming_the_entry(tmp_path: Path) -> None:
    twin = init_twin("ward", home=tmp_path)
    try:
        for i in range(3):
            audit.append(twin.engine, actor="token:x", action="ingest", target=str(i))
        with twin.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
            conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    finally:
        twin.close()
    listed = runner.invoke(cli, ["audit", "ward", "--home", str(tmp_path)])
    assert listed.exit_code == 0 and "ingest" in listed.stdout
    broken = runner.invoke(cli, ["audit", "verify", "ward", "--home", str(tmp_path), "--json"])
    assert broken.exit_code == 1
    assert json.loads(broken.stdout)["problem"] == {
        "kind": "removed", "seq": 2, "message": "entry 2 was removed"
    }  # fmt: skip
    bad = runner.invoke(cli, ["audit", "verify", "ward", "--home", str(tmp_path), "--head", "x"])
    assert bad.exit_code == 2 and "SEQ:HASH" in bad.output
    unknown = runner.invoke(cli, ["audit", "nope", "--home", str(tmp_path)])
    assert unknown.exit_code == 2 and "no twin 'nope'" in unknown.output
