"""Authentication, authorisation and ingest rate limits of the HTTP service.

Every route but ``/health`` and the API docs declares what it needs with ``require(action)``
(``read``, ``ingest``, ``analyse``, ``admin``; see ``twinsight.govern.ACTIONS``). The request
must carry ``Authorization: Bearer <token>``; no token, or one that is unknown or revoked, is
answered ``401`` (with ``WWW-Authenticate: Bearer``); a token whose role may not do the action,
or whose access list does not hold the twin named in the path, ``403``. Both are recorded in the
home's audit log (``access.sqlite``: actor, route, reason; never the token), as is each token's
first successful request of a server run (``login``). Ingest routes also take a token from the
bucket of (token, twin): when it is empty the answer is ``429`` with ``Retry-After``.

A token found valid is remembered until ``access.sqlite`` changes (its ``PRAGMA data_version``,
read on every request, moves with any commit to the file: a revocation, a new token, an audit
entry), so a revocation still takes effect on the next request; remembered tokens are checked
on the event loop, others (and every refusal) in a worker thread.
"""

from __future__ import annotations

import hashlib
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from ..govern import LOCAL, AccessStore, Principal, audit
from .problems import ProblemError
from .settings import ServiceSettings

__all__ = [
    "AdminDep",
    "AnalystDep",
    "IngestDep",
    "RateLimiter",
    "ReadDep",
    "Security",
    "TokenCache",
    "require",
]

log = logging.getLogger("twinsight.service")


class RateLimiter:
    """Token buckets per key: ``rate`` per second sustained, ``burst`` at most at once."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: tuple[str, str]) -> float:
        """0 when a request may go ahead (one token taken), else seconds until it may."""
        now = self._clock()
        with self._lock:
            level, then = self._buckets.get(key, (self.burst, now))
            level = min(self.burst, level + (now - then) * self.rate)
            if level >= 1.0:
                self._buckets[key] = (level - 1.0, now)
                return 0.0
            self._buckets[key] = (level, now)
            return (1.0 - level) / self.rate


class TokenCache:
    """Principals of the tokens found valid since ``access.sqlite`` last changed.

    Keyed by the token's SHA-256 (no secret kept); emptied whenever the file's
    ``PRAGMA data_version`` moves, i.e. after any commit to it by another connection.
    """

    #: Most tokens remembered at once (then the cache starts again).
    SIZE = 10_000

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._version = -1
        self._principals: dict[bytes, Principal] = {}

    def version(self) -> int:
        """The file's change counter now (the cache emptied if it moved)."""
        with self._lock:
            version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
            if version != self._version:
                self._principals.clear()
                self._version = version
            return version

    def get(self, token: str) -> Principal | None:
        """The remembered principal of ``token``, if the file has not changed since."""
        self.version()
        with self._lock:
            return self._principals.get(hashlib.sha256(token.encode()).digest())

    def put(self, token: str, principal: Principal, version: int) -> None:
        """Remember ``principal``, read from the file at ``version`` (see ``version``)."""
        with self._lock:
            if version == self._version:
                if len(self._principals) >= self.SIZE:
                    self._principals.clear()
                self._principals[hashlib.sha256(token.encode()).digest()] = principal

    def close(self) -> None:
        """Close the connection that reads the change counter."""
        with self._lock:
            self._conn.close()


class Security:
    """The app's token store, logins seen this run, and the ingest rate limiter."""

    def __init__(self, settings: ServiceSettings, access: AccessStore | None) -> None:
        self.enabled = settings.auth
        self.access = access
        self.limiter = (
            RateLimiter(settings.ingest_rate, settings.ingest_burst)
            if settings.ingest_rate is not None
            else None
        )
        #: Denied requests per client address; beyond the bucket, 429 (not audited).
        self.denials = (
            RateLimiter(settings.denied_rate, settings.denied_burst)
            if settings.denied_rate is not None
            else None
        )
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self.tokens = TokenCache(access.path) if access is not None else None

    def _audit(self, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
        if self.access is None:
            return
        try:
            audit.append(
                self.access.engine, actor=actor, action=action, target=target, detail=detail
            )
        except Exception as exc:  # the answer must not depend on the home audit's health
            log.warning("home audit log: %s not recorded (%s)", action, type(exc).__name__)

    def deny(self, request: Request, status: int, reason: str, actor: str) -> ProblemError:
        """Record a denied request and return its problem (401 or 403) to raise.

        A client address denied more often than the denial bucket allows gets ``429`` instead,
        unaudited, so a flood of bad requests cannot turn into a flood of audit writes.
        """
        client = request.client.host if request.client else "unknown"
        wait = 0.0 if self.denials is None else self.denials.take(("denied", client))
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            log.warning("%s %s -> 429 too many denied requests", request.method, request.url.path)
            return ProblemError(
                429,
                "too-many-denied",
                "Too many denied requests",
                f"too many refused requests from this address: retry after {seconds} s with a "
                "valid token",
                headers={"Retry-After": str(seconds)},
                retry_after=seconds,
            )
        target = f"{request.method} {request.url.path}"
        self._audit(actor, "denied", target, {"status": status, "reason": reason})
        if status == 401:
            return ProblemError(
                401,
                "unauthorized",
                "Unauthorized",
                f"{reason}: send 'Authorization: Bearer <token>' with a token from "
                "'twinsight token create'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return ProblemError(403, "forbidden", "Forbidden", reason)

    def authenticate(self, request: Request) -> Principal:
        """The principal of the request's bearer token (401 problem when there is none)."""
        if not self.enabled:
            return LOCAL
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            raise self.deny(request, 401, "no token", "anonymous")
        if scheme.lower() != "bearer" or not token.strip():
            raise self.deny(request, 401, "not a bearer token", "anonymous")
        assert self.access is not None
        version = self.tokens.version() if self.tokens is not None else 0
        principal = self.access.authenticate(token)
        if principal is None:
            raise self.deny(request, 401, "unknown or revoked token", "anonymous")
        if self.tokens is not None:
            self.tokens.put(token, principal, version)
        with self._lock:
            first = principal.token_id not in self._seen
            self._seen.add(principal.token_id)
        if first:
            self._audit(principal.actor, "login", f"{request.method} {request.url.path}", {})
        return principal

    def authorise(self, request: Request, action: str) -> Principal:
        """The principal, if it may do ``action`` on the twin of the path (403 otherwise)."""
        principal = self.authenticate(request)
        twin = request.path_params.get("name")
        if not principal.may(action):
            raise self.deny(
                request, 403, f"role '{principal.role}' may not {action} here", principal.actor
            )
        if twin is not None and not principal.may(action, str(twin)):
            raise self.deny(
                request, 403, f"this token has no access to twin '{twin}'", principal.actor
            )
        return principal

    def remembered(self, request: Request, action: str) -> Principal | None:
        """The principal of a remembered token allowed ``action`` here (no file read, no
        audit); None: ask ``authorise`` (in a worker thread)."""
        twin = request.path_params.get("name")
        return self.remembered_token(
            request.headers.get("authorization", ""), action, None if twin is None else str(twin)
        )

    def remembered_token(
        self, authorization: str, action: str, twin: str | None
    ) -> Principal | None:
        """``remembered`` from the ``Authorization`` header's value and the path's twin."""
        if self.tokens is None:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        principal = self.tokens.get(token)
        if principal is None or not principal.may(action):
            return None
        if twin is not None and not principal.may(action, twin):
            return None
        return principal

    def throttle(self, principal: Principal, twin: str) -> None:
        """Take one request from (token, twin)'s bucket; a 429 problem when it is empty."""
        if self.limiter is None:
            return
        wait = self.limiter.take((principal.token_id, twin))
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise ProblemError(
                429,
                "rate-limited",
                "Too many requests",
                f"this token sends events to '{twin}' faster than the service allows "
                f"({self.limiter.rate:g} requests/s): retry after {seconds} s, or post batches",
                headers={"Retry-After": str(seconds)},
                retry_after=seconds,
            )


def get_security(request: Request) -> Security:
    """The app's ``Security`` (made by the lifespan)."""
    security = request.app.state.security
    assert isinstance(security, Security)
    return security


def require(action: str) -> Any:
    """A dependency: the request's ``Principal`` if it may do ``action`` (401/403 problems).

    Ingest routes (``action == "ingest"``) are rate limited per token and twin (429).
    """

    async def dependency(request: Request) -> Principal:
        security = get_security(request)
        principal = security.remembered(request, action)
        if principal is None:
            principal = await run_in_threadpool(security.authorise, request, action)
        twin = request.path_params.get("name")
        if action == "ingest" and twin is not None:
            security.throttle(principal, str(twin))
        return principal

    dependency.action = action  # type: ignore[attr-defined]  # read by the role matrix test
    return Depends(dependency)


#: Route parameters: the request's principal, allowed to read / ingest / analyse / administer.
ReadDep = Annotated[Principal, require("read")]
IngestDep = Annotated[Principal, require("ingest")]
AnalystDep = Annotated[Principal, require("analyse")]
AdminDep = Annotated[Principal, require("admin")]
