"""Shared by the outbreak and patient services: the template check and the problem of a twin
whose configuration or data cannot serve the request."""

from __future__ import annotations

from sqlalchemy import Engine, update

from ...store import IngestRow, QuarantineRow
from ..problems import ProblemError
from .registry import TwinHandle

__all__ = ["HTTP_SOURCE", "not_ready", "relabel_source", "require_template"]

#: The ``source`` recorded for rows posted as JSON (ingests and quarantine rows).
HTTP_SOURCE = "http"


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def require_template(handle: TwinHandle, template: str) -> None:
    """A 409 problem unless the twin was made from ``template``."""
    twin = handle.twin
    if twin.template != template:
        raise ProblemError(
            409,
            "wrong-template",
            "Wrong twin template",
            f"twin '{twin.name}' is {_article(twin.template)} {twin.template} twin: this "
            f"endpoint works on {template} twins (create one with 'twinsight init NAME "
            f"--template {template}')",
            template=twin.template,
            expected=template,
        )


def not_ready(handle: TwinHandle, message: str) -> ProblemError:
    """A 409 problem: the twin lacks what the request needs (data, settings); the message
    says the fix, with the server's folders left out."""
    folder = str(handle.twin.path)
    detail = message.replace(folder + "/", "").replace(folder, f"twin '{handle.twin.name}'")
    return ProblemError(409, "twin-not-ready", "Twin not ready", detail)


def relabel_source(engine: Engine, temporary: str) -> None:
    """Record the ingest and quarantine rows of a posted batch (written to the temporary file
    ``temporary`` for the file path) under ``HTTP_SOURCE`` instead of that file's name."""
    with engine.begin() as conn:
        for table in (IngestRow, QuarantineRow):
            conn.execute(update(table).where(table.source == temporary).values(source=HTTP_SOURCE))
