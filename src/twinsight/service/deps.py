"""Request-level helpers shared by the routers: settings, the twin registry, the body."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from .problems import ProblemError
from .services.registry import TwinHandle, TwinRegistry
from .settings import ServiceSettings

__all__ = [
    "RegistryDep",
    "SettingsDep",
    "get_registry",
    "get_settings",
    "open_twin_handle",
    "read_body",
    "require_media_type",
]

_UTF8 = ("utf-8", "utf8")


def get_settings(request: Request) -> ServiceSettings:
    """The settings the app was made with."""
    settings = request.app.state.settings
    assert isinstance(settings, ServiceSettings)
    return settings


def get_registry(request: Request) -> TwinRegistry:
    """The app's twin registry (made by the lifespan)."""
    registry = request.app.state.registry
    assert isinstance(registry, TwinRegistry)
    return registry


SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]
RegistryDep = Annotated[TwinRegistry, Depends(get_registry)]


async def open_twin_handle(registry: TwinRegistry, name: str) -> TwinHandle:
    """The twin ``name``; opening it the first time runs in a worker thread (migrations)."""
    handle = registry.peek(name)
    if handle is None:
        handle = await run_in_threadpool(registry.get, name)
    return handle


def require_media_type(request: Request, allowed: tuple[str, ...]) -> str:
    """The request's media type if it is one of ``allowed`` (UTF-8), else a 415 problem."""
    header = request.headers.get("content-type", "")
    media, _, params = header.partition(";")
    media = media.strip().lower()
    charset = ""
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if media in allowed and (not charset or charset in _UTF8):
        return media
    sent = f"'{header}'" if header else "no Content-Type"
    raise ProblemError(
        415,
        "unsupported-media-type",
        "Unsupported media type",
        f"this endpoint takes {' or '.join(allowed)} (UTF-8), not {sent}",
        accepted_types=list(allowed),
    )


def _too_large(limit: int) -> ProblemError:
    return ProblemError(
        413,
        "body-too-large",
        "Body too large",
        f"the request body is larger than the limit of {limit} bytes: split it into smaller "
        "batches",
        limit=limit,
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, at most ``limit`` bytes (413 on Content-Length, or while reading)."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.strip().isdigit():
            raise ProblemError(
                400,
                "bad-content-length",
                "Bad Content-Length",
                "the Content-Length header is not a number of bytes",
            )
        if int(length) > limit:
            raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)
