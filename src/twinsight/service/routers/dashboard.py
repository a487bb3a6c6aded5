"""The dashboard: ``GET /`` (the page) and its script and style sheet, served from the installed
package (no CDN, works offline). Public: the page holds no data; it asks for a token and reads
the API with it (``docs/dashboard.md``)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

__all__ = ["router"]

router = APIRouter(tags=["dashboard"], include_in_schema=False)
_ASSETS = resources.files("twinsight.service") / "dashboard"
_CACHE = {"Cache-Control": "no-cache"}


def _asset(name: str) -> str:
    return (_ASSETS / name).read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse)
async def index() -> HTMLResponse:
    """The dashboard's single page."""
    return HTMLResponse(_asset("index.html"), headers=_CACHE)


@router.get("/dashboard/app.js")
async def script() -> Response:
    """The dashboard's script (plain ES2020, no build step)."""
    return Response(_asset("app.js"), media_type="text/javascript", headers=_CACHE)


@router.get("/dashboard/app.css")
async def style() -> Response:
    """The dashboard's style sheet."""
    return Response(_asset("app.css"), media_type="text/css", headers=_CACHE)


@router.get("/dashboard/outbreak.js")
async def outbreak_script() -> Response:
    """The dashboard's outbreak twin page."""
    return Response(_asset("outbreak.js"), media_type="text/javascript", headers=_CACHE)


@router.get("/dashboard/patient.js")
async def patient_script() -> Response:
    """The dashboard's patient twin page."""
    return Response(_asset("patient.js"), media_type="text/javascript", headers=_CACHE)


@router.get("/dashboard/contact.js")
async def contact_script() -> Response:
    """The dashboard's contact-centre twin page."""
    return Response(_asset("contact.js"), media_type="text/javascript", headers=_CACHE)


@router.get("/dashboard/casework.js")
async def casework_script() -> Response:
    """The dashboard's social-services twin page."""
    return Response(_asset("casework.js"), media_type="text/javascript", headers=_CACHE)
