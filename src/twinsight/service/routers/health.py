"""``GET /api/v1/health``: the service is up."""

from __future__ import annotations

from fastapi import APIRouter

from ... import __version__
from ..deps import RegistryDep
from ..schemas import Health

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(registry: RegistryDep) -> Health:
    """Liveness: answers 200 while the service runs (no store is touched)."""
    return Health(version=__version__, twins_open=registry.open_count)
