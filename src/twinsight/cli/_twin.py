"""Twin commands: ``twinsight init`` (make a twin) and ``twinsight ingest`` (event files in)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from ..connect import IngestError, IngestReport
from ..govern import KEY_ENV, PseudonymKeyError
from ..twin import TEMPLATES, Twin, TwinError, init_twin, open_twin
from ._app import app
from ._output import fail, stdout

__all__ = ["ingest", "init"]

NameArg = Annotated[str, typer.Argument(help="The twin's name.", show_default=False)]
HomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="Folder holding twins (default: $TWINSIGHT_HOME, else ~/.twinsight).",
        show_default=False,
    ),
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (postgresql://user@host:5432/db) instead of the twin's SQLite file.",
        show_default=False,
    ),
]


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


@contextmanager
def _errors(db: str | None) -> Iterator[None]:
    """Turn the expected failures into one message with a fix and exit 2 (no traceback)."""
    try:
        yield
    except (TwinError, IngestError) as exc:
        fail(str(exc))
    except PseudonymKeyError as exc:
        fail(str(exc), f"set {KEY_ENV} or restore the twin's secrets/pseudonym.key")
    except (ArgumentError, NoSuchModuleError):
        fail(
            f"--db: '{_safe_url(db or '')}' is not a database URL",
            "use postgresql://USER@HOST:5432/DATABASE",
        )
    except SQLAlchemyError as exc:
        where = f"--db {_safe_url(db)}" if db else "the twin's SQLite store"
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        fail(
            f"{where}: database error: {detail}",
            "check that the server is running and the URL is right" if db else None,
        )


def _open(make: Callable[[], Twin], db: str | None) -> Twin:
    """Run ``make`` (init or open a twin), exiting 2 with a message on the expected failures."""
    with _errors(db):
        return make()
    raise AssertionError("unreachable")  # pragma: no cover


@app.command()
def init(
    name: NameArg,
    template: Annotated[
        str, typer.Option("--template", "-t", help=f"One of: {', '.join(TEMPLATES)}.")
    ] = "hospital",
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Create a twin: its folder, a pseudonym key (0600), twin.yaml and the migrated store."""
    twin = _open(lambda: init_twin(name, template, home=home, db_url=db), db)
    twin.close()
    if as_json:
        stdout.file.write(
            json.dumps({"name": name, "template": twin.template, "path": str(twin.path)}) + "\n"
        )
        return
    stdout.print(
        f"[green]OK[/] twin '{escape(name)}' ({escape(twin.template)}) in {escape(str(twin.path))}",
        highlight=False,
    )


@app.command()
def ingest(
    name: NameArg,
    files: Annotated[
        list[Path],
        typer.Argument(help="ADT event files: CSV or JSON Lines.", show_default=False),
    ],
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object with the counts.")
    ] = False,
) -> None:
    """Ingest ADT event files; replays add nothing, rejected records go to quarantine."""
    for path in files:
        if not path.is_file():
            fail(f"{path}: no such file", "give the path of a CSV or JSON Lines file of ADT events")
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    reports: list[IngestReport] = []
    try:
        for path in files:
            with _errors(db):
                reports.extend(twin.ingest([path]))
    finally:
        twin.close()
    totals = {
        key: sum(getattr(r, key) for r in reports)
        for key in ("accepted", "duplicate", "quarantined")
    }
    if as_json:
        out = {
            "twin": name,
            **totals,
            "files": [
                {
                    "source": r.source,
                    "format": r.format,
                    "accepted": r.accepted,
                    "duplicate": r.duplicate,
                    "quarantined": r.quarantined,
                    "resumed_from": r.resumed_from,
                }
                for r in reports
            ],
        }
        stdout.file.write(json.dumps(out) + "\n")
        return
    for r in reports:
        resumed = f" (resumed at byte {r.resumed_from})" if r.resumed_from else ""
        stdout.print(
            f"{escape(r.source)}: {r.accepted} accepted, {r.duplicate} duplicate, "
            f"{r.quarantined} quarantined{resumed}",
            highlight=False,
        )
    if len(reports) > 1:
        stdout.print(
            f"total: {totals['accepted']} accepted, {totals['duplicate']} duplicate, "
            f"{totals['quarantined']} quarantined",
            highlight=False,
        )
