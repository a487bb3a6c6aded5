"""API tokens and roles: who may do what on which twin, kept in ``<home>/access.sqlite``.

A token is ``tsk_<id>_<secret>``: ``id`` 8 hex digits (shown in lists, audit entries and
``revoke``), ``secret`` 32 random bytes (URL-safe base64). It is shown once, when created; the
store keeps only its SHA-256. Tokens are random and long (256 bits), so a fast hash is enough
(a slow password hash defends low-entropy secrets against guessing; these cannot be guessed),
and it keeps checking a request cheap. Each token has one role and a scope: the twins it may
act on (its access list), or every twin (admin tokens always have every twin).

Roles: ``viewer`` reads (twins, state); ``analyst`` reads and runs scenarios and optimisations;
``admin`` does everything (twins, tokens, audit); ``device`` only ingests events.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    Column,
    Engine,
    ForeignKey,
    MetaData,
    String,
    Table,
    insert,
    select,
    text,
    update,
)

from ..store import AuditRow, make_engine
from ..store._types import UtcDateTime
from ._anchor import attach_anchor

__all__ = [
    "ACCESS_DB",
    "ACTIONS",
    "LOCAL",
    "ROLES",
    "AccessError",
    "AccessStore",
    "Principal",
    "TokenInfo",
    "allowed",
]

#: The access database, in the service home (beside the twins' folders).
ACCESS_DB = "access.sqlite"
#: The home log's anchor (govern._anchor), beside ``access.sqlite``.
ACCESS_ANCHOR = "access.anchor"
#: Roles, least to most powerful; ``device`` stands apart (ingest only).
ROLES = ("viewer", "analyst", "admin", "device")
#: What each kind of action needs: the roles allowed to do it.
ACTIONS: dict[str, frozenset[str]] = {
    "read": frozenset({"viewer", "analyst", "admin"}),
    "ingest": frozenset({"device", "admin"}),
    "analyse": frozenset({"analyst", "admin"}),
    "admin": frozenset({"admin"}),
}
#: The schema version of ``access.sqlite`` this code writes (upgrades go in ``_upgrade``).
SCHEMA_VERSION = 1
_PREFIX = "tsk"
_TOKEN = re.compile(r"^tsk_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")

_meta = MetaData()
_info = Table(
    "access_meta",
    _meta,
    Column("key", String(32), primary_key=True),
    Column("value", String(64), nullable=False),
)
_tokens = Table(
    "tokens",
    _meta,
    Column("id", String(8), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("role", String(16), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
)
#: A token's access list; ``*`` means every twin.
_grants = Table(
    "token_twins",
    _meta,
    Column("token_id", String(8), ForeignKey("tokens.id"), primary_key=True),
    Column("twin", String(64), primary_key=True),
)
_ALL = "*"


class AccessError(ValueError):
    """A token cannot be made, found or revoked; the message says why and what to do."""


def allowed(role: str, action: str) -> bool:
    """True when ``role`` may perform ``action`` (a key of ``ACTIONS``)."""
    return role in ACTIONS[action]


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed: never its secret. ``twins`` empty means every twin."""

    id: str
    name: str
    role: str
    twins: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (instants ISO 8601 UTC; ``twins`` ``["*"]`` for every twin)."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "twins": list(self.twins) or [_ALL],
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a token's id and role, and the twins it may act on."""

    token_id: str
    role: str
    #: The twins of its access list; ``None``: every twin.
    twins: frozenset[str] | None

    @property
    def actor(self) -> str:
        """How audit entries name it: ``token:<id>`` (never the token); ``local`` for LOCAL."""
        return "local" if self == LOCAL else f"token:{self.token_id}"

    def may(self, action: str, twin: str | None = None) -> bool:
        """True when this principal may do ``action`` (on ``twin``, when given)."""
        if not allowed(self.role, action):
            return False
        return twin is None or self.twins is None or twin in self.twins


#: Whoever uses a service started without authentication (local development only): an admin.
LOCAL = Principal("local", "admin", None)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AccessStore:
    """The tokens of one service home (``<home>/access.sqlite``), created on first open.

    The file holds no secret: token hashes, roles, access lists, and the home's audit log
    (token changes, logins, denied requests).
    """

    def __init__(self, home: Path) -> None:
        self.path = Path(home) / ACCESS_DB
        self.engine: Engine = make_engine(self.path)
        # the home's log is anchored beside it; the key in a folder no twin name can take
        key_file = Path(home) / ".secrets" / "audit.key"
        attach_anchor(self.engine, Path(home) / ACCESS_ANCHOR, key_file)
        try:
            self._prepare()
        except BaseException:
            self.engine.dispose()
            raise

    def _prepare(self) -> None:
        _meta.create_all(self.engine)
        AuditRow.metadata.tables["audit_log"].create(self.engine, checkfirst=True)
        with self.engine.begin() as conn:
            for verb in ("UPDATE", "DELETE"):
                conn.execute(
                    text(
                        f"CREATE TRIGGER IF NOT EXISTS audit_log_no_{verb.lower()} BEFORE {verb} "
                        "ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
                    )
                )
            version = conn.execute(
                select(_info.c.value).where(_info.c.key == "schema_version")
            ).scalar()
            if version is None:
                conn.execute(insert(_info).values(key="schema_version", value=str(SCHEMA_VERSION)))
            elif int(version) > SCHEMA_VERSION:
                raise AccessError(
                    f"{self.path} was written by a newer Twinsight (access schema {version}): "
                    "upgrade Twinsight"
                )

    def create(self, role: str, twins: Sequence[str] = (), name: str = "") -> tuple[str, TokenInfo]:
        """A new token (shown once: returned here, stored only as its hash) and its record."""
        if role not in ROLES:
            raise AccessError(f"there is no role '{role}': choose one of {', '.join(ROLES)}")
        if role == "admin" and twins:
            raise AccessError("an admin token acts on every twin: leave out --twin")
        for twin in twins:
            if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", twin):
                raise AccessError(f"'{twin}' is not a twin name")
        token_id = secrets.token_hex(4)
        token = f"{_PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
        now = datetime.now(UTC)
        scope = sorted(set(twins)) or [_ALL]
        with self.engine.begin() as conn:
            conn.execute(
                insert(_tokens).values(
                    id=token_id, name=name[:100], role=role, hash=_digest(token), created_at=now
                )
            )
            conn.execute(insert(_grants), [{"token_id": token_id, "twin": t} for t in scope])
        return token, TokenInfo(token_id, name[:100], role, tuple(sorted(set(twins))), now, None)

    def list(self) -> list[TokenInfo]:
        """Every token (revoked ones too), oldest first."""
        with self.engine.connect() as conn:
            grants: dict[str, list[str]] = {}
            for token_id, twin in conn.execute(select(_grants.c.token_id, _grants.c.twin)):
                grants.setdefault(token_id, []).append(twin)
            rows = conn.execute(select(_tokens).order_by(_tokens.c.created_at, _tokens.c.id))
            return [
                TokenInfo(
                    r.id,
                    r.name,
                    r.role,
                    tuple(sorted(t for t in grants.get(r.id, []) if t != _ALL)),
                    r.created_at,
                    r.revoked_at,
                )
                for r in rows
            ]

    def revoke(self, token_id: str) -> TokenInfo:
        """Revoke the token ``token_id`` (it stops working at once); its record stays."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(_tokens)
                .where(_tokens.c.id == token_id, _tokens.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            ).rowcount
        found = [t for t in self.list() if t.id == token_id]
        if not found:
            raise AccessError(f"there is no token '{token_id}': 'twinsight token list' shows them")
        if not done and found[0].revoked_at is None:  # pragma: no cover - a race
            raise AccessError(f"token '{token_id}' could not be revoked: try again")
        return found[0]

    def authenticate(self, token: str) -> Principal | None:
        """The principal of a valid, unrevoked ``token``; ``None`` for anything else."""
        match = _TOKEN.match(token.strip())
        if match is None:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                select(_tokens.c.role, _tokens.c.hash, _tokens.c.revoked_at).where(
                    _tokens.c.id == match.group(1)
                )
            ).first()
            if row is None or row.revoked_at is not None:
                return None
            if not hmac.compare_digest(row.hash, _digest(token.strip())):
                return None
            twins = set(
                conn.execute(select(_grants.c.twin).where(_grants.c.token_id == match.group(1)))
                .scalars()
                .all()
            )
        scope = None if row.role == "admin" or _ALL in twins else frozenset(twins)
        return Principal(match.group(1), row.role, scope)

    def close(self) -> None:
        """Release the database's connections."""
        self.engine.dispose()
