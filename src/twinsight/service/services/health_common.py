"""Shared by the services of the outbreak, patient, contact-centre and casework twins: the
template check, posted rows ingested through the file path, and the problem of a twin
whose configuration or data cannot serve the request."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, update

from ...store import IngestRow, QuarantineRow
from ..problems import ProblemError
from .registry import TwinHandle

__all__ = [
    "HTTP_SOURCE",
    "ingest_posted",
    "not_ready",
    "relabel_source",
    "require_template",
]

#: The ``source`` recorded for rows posted as JSON (ingests and quarantine rows).
HTTP_SOURCE = "http"

_Report = TypeVar("_Report")


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


def ingest_posted(
    handle: TwinHandle,
    filename: str,
    text: str,
    ingest: Callable[[Path], _Report],
    errors: tuple[type[Exception], ...],
) -> tuple[_Report, str]:
    """Store rows posted as JSON through the twin's file path (the same checks, quarantine and
    idempotence): ``text`` is written as ``filename`` in a temporary folder, ``ingest(path)``
    runs under the twin's lock, and its ingest and quarantine rows are recorded under
    ``HTTP_SOURCE``. The report and the temporary path (to be left out of reasons); a file the
    reader refuses whole (``errors``) is a 409 problem that does not name the path."""
    with tempfile.TemporaryDirectory(prefix="twinsight-") as folder:
        path = Path(folder) / filename
        path.write_text(text, encoding="utf-8")
        try:
            with handle.lock:
                report = ingest(path)
                for source in {str(path), str(path.resolve())}:
                    relabel_source(handle.twin.engine, source)
        except errors as exc:
            raise not_ready(handle, str(exc).replace(str(path), "the batch")) from None
    return report, str(path)
