"""The FastAPI application: ``create_app(settings)`` (an app factory) and its lifespan.

Single-event ingest (``POST /twins/{name}/events``) is answered by a lean ASGI lane ahead of
FastAPI's middleware and router (``fastpath``; the route stays for OpenAPI). The lifespan makes
the twin registry (twins open lazily, on their first request) and the
security (tokens of ``<home>/access.sqlite``, rate limits) and, on shutdown, marks each twin's
HTTP ingest done and disposes of its engine. Routers are thin
(``routers/``), the logic lives in ``services/``, request and response bodies in ``schemas``,
errors are RFC 9457 problem details (``problems``). Documented in ``docs/service.md``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from .. import __version__
from ..connect import AdtEvent
from ..govern import AccessStore
from .fastpath import handle_event_post, match_event_post
from .problems import PROBLEM_JSON, install_problem_handlers
from .routers import (
    audit,
    calibration,
    casework,
    contact,
    dashboard,
    forecast,
    health,
    ingest,
    live,
    outbreak,
    patient,
    runs,
    scenarios,
    twins,
)
from .schemas import Problem
from .security import Security
from .services.registry import TwinRegistry
from .services.retention import retention_loop
from .settings import ServiceSettings

__all__ = ["API_PREFIX", "TwinsightAPI", "create_app"]

#: Every route lives under this prefix (the API's major version).
API_PREFIX = "/api/v1"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: ServiceSettings = app.state.settings
    registry = TwinRegistry(settings)
    access = AccessStore(registry.home) if settings.auth else None
    app.state.registry = registry
    app.state.security = security = Security(settings, access)
    retention = None
    if settings.retention_days is not None:
        retention = asyncio.create_task(
            retention_loop(registry, settings.retention_days, settings.retention_interval_hours)
        )
    try:
        yield
    finally:
        if retention is not None:
            retention.cancel()
            with suppress(asyncio.CancelledError):
                await retention
        await run_in_threadpool(registry.close)
        if access is not None:
            access.close()
        if security.tokens is not None:
            security.tokens.close()


_BAD_BODY = {
    "description": "problem details (RFC 9457): the body is not JSON",
    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}

_INVALID = {
    "description": "problem details (RFC 9457): a parameter or the body is invalid",
    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI schema, with the ADT event v1 model the ingest bodies refer to and the
    bearer security scheme."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        event = AdtEvent.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(event.pop("$defs", {}))
        components["AdtEvent"] = event
        components["Problem"] = Problem.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        # bearer tokens on every operation but the health check (docs/security.md)
        schema["components"]["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "twinsight token"}
        }
        schema["security"] = [{"bearer": []}]
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                if path.endswith("/health"):
                    operation["security"] = []
                if "requestBody" in operation:  # a body that is not JSON: 400 (problems.py)
                    operation["responses"].setdefault("400", _BAD_BODY)
                invalid = operation["responses"].get("422", {}).get("content", {})
                if "application/json" in invalid:  # FastAPI's default: answered as a problem
                    operation["responses"]["422"] = _INVALID
        app.openapi_schema = schema
    return app.openapi_schema


class TwinsightAPI(FastAPI):
    """FastAPI, with single-event ingest answered by a lean lane ahead of the middleware stack
    and the router (``fastpath``) while ``state.fast_ingest`` is true (the default)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = match_event_post(scope)
        if name is not None and self.state.fast_ingest:
            await handle_event_post(self, scope, receive, send, name)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: ServiceSettings | None = None) -> TwinsightAPI:
    """The Twinsight HTTP service for the twins of ``settings.home`` (see ``docs/service.md``).

    Every route but ``/health`` and the docs needs a bearer token (``docs/security.md``) unless
    ``settings.auth`` is False (local development only).
    """
    app = TwinsightAPI(
        title="Twinsight",
        version=__version__,
        description="Digital twins: ingest events, read a twin's state, audit. Bearer tokens "
        "from 'twinsight token create'; roles viewer, analyst, admin, device.",
        lifespan=_lifespan,
    )
    app.state.settings = settings or ServiceSettings()
    app.state.fast_ingest = True  # single events through the lean lane (fastpath.py)
    install_problem_handlers(app)
    for module in (health, twins, ingest, audit, forecast, calibration, scenarios, runs, live):
        app.include_router(module.router, prefix=API_PREFIX)
    for module in (outbreak, patient):  # the outbreak and patient twins (docs/service.md)
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(contact.router, prefix=API_PREFIX)  # contact-centre twins
    app.include_router(casework.router, prefix=API_PREFIX)  # social-services twins
    app.include_router(dashboard.router)  # the dashboard at /, outside the API's prefix
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
