"""The dashboard: ``GET /`` (the page) and its scripts and style sheet, served from the installed
package (no CDN, works offline). Public: the page holds no data; it asks for a token and reads
the API with it (``docs/dashboard.md``)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from twinsight.service.problems import ProblemError

__all__ = ["ASSETS", "router"]

router = APIRouter(tags=["dashboard"], include_in_schema=False)
_ASSETS = resources.files("twinsight.service") / "dashboard"
_CACHE = {"Cache-Control": "no-cache"}

#: The files served under ``/dashboard/``, with their media types: the main script and style
#: sheet (plain ES2020 and CSS, no build step) and one script per twin page. Nothing else in the
#: package folder is reachable.
ASSETS: dict[str, str] = {
    "app.js": "text/javascript",
    "app.css": "text/css",
    "outbreak.js": "text/javascript",
    "patient.js": "text/javascript",
    "contact.js": "text/javascript",
    "casework.js": "text/javascript",
}


def _asset(name: str) -> str:
    return (_ASSETS / name).read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse)
async def index() -> HTMLResponse:
    """The dashboard's single page."""
    return HTMLResponse(_asset("index.html"), headers=_CACHE)


@router.get("/dashboard/{asset}")
async def asset(asset: str) -> Response:
    """One of the dashboard's scripts or its style sheet (``ASSETS``); 404 for any other name."""
    media_type = ASSETS.get(asset)
    if media_type is None:
        detail = f"the dashboard has no file {asset!r}"
        raise ProblemError(404, "not-found", "Not found", detail)
    return Response(_asset(asset), media_type=media_type, headers=_CACHE)
