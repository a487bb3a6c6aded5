"""Service: the HTTP API of the twins (FastAPI), served by ``twinsight serve``.

``create_app(settings)`` builds the app: ``POST /api/v1/twins/{name}/events`` and
``.../events/batch`` ingest ADT events (durable before the answer), ``GET /api/v1/twins``,
``GET /api/v1/twins/{name}/state`` and ``GET /api/v1/health``. Errors are RFC 9457 problem
details. No authentication yet (bind to loopback). See ``docs/service.md``.
"""

from __future__ import annotations

from .app import API_PREFIX, create_app
from .settings import ServiceSettings

__all__ = ["API_PREFIX", "ServiceSettings", "create_app"]
