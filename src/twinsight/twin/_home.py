"""The twin home: ``<home>/<name>/`` with ``twin.yaml``, the key file and the SQLite store.

``home`` is the argument, else ``TWINSIGHT_HOME``, else ``~/.twinsight``. A twin made with a
database URL records ``store: url`` in ``twin.yaml`` but never the URL itself (it may carry a
password): pass the URL again (``db_url`` / ``--db``) each time it is opened.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

from ..connect import IngestReport, RecordSink, ingest_mqtt, ingest_path
from ..govern import (
    KEY_FILE,
    Pseudonymiser,
    anchor_folder,
    audit,
    create_key_file,
    load_pseudonymiser,
)
from ..store import open_store

__all__ = [
    "TEMPLATES",
    "Twin",
    "TwinError",
    "init_twin",
    "open_twin",
    "twin_home",
    "twin_template",
]

#: Templates a twin can be made from.
TEMPLATES = ("hospital", "patient", "outbreak", "contact-centre", "social-services")
CONFIG = "twin.yaml"
DATABASE = "twin.db"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class TwinError(ValueError):
    """A twin cannot be made or opened; the message says why and what to do."""


@dataclass
class Twin:
    """An opened twin: its folder, template, store engine and pseudonymiser."""

    name: str
    path: Path
    template: str
    engine: Engine
    pseudonymise: Pseudonymiser

    def ingest(self, paths: Sequence[Path], *, batch_size: int = 50_000) -> list[IngestReport]:
        """Ingest event files (CSV, JSON Lines, Parquet) into this twin's store, in order.

        See ``twinsight.connect.ingest_path``: the reader is picked by each file's format.
        """
        return [  # each ingest audited (govern.audit) once it committed
            audit.ingested(
                self.engine, ingest_path(p, self.engine, self.pseudonymise, batch_size=batch_size)
            )
            for p in paths
        ]

    def ingest_mqtt(self, url: str, topics: Sequence[str], **options: Any) -> IngestReport:
        """Subscribe to MQTT ``topics``, store their events (``twinsight.connect.ingest_mqtt``)."""
        report = ingest_mqtt(url, topics, self.engine, self.pseudonymise, **options)
        return audit.ingested(self.engine, report)

    def sink(self, source: str, fmt: str) -> RecordSink:
        """A sink for records from a stream (MQTT, HTTP, Parquet, FHIR) into this twin's store."""
        return RecordSink(self.engine, self.pseudonymise, source, fmt)

    def close(self) -> None:
        """Release the store's connections."""
        self.engine.dispose()


def twin_home(home: Path | str | None = None) -> Path:
    """The folder holding twins: ``home``, else ``TWINSIGHT_HOME``, else ``~/.twinsight``."""
    if home is not None:
        return Path(home).expanduser()
    env = os.environ.get("TWINSIGHT_HOME")
    return Path(env).expanduser() if env else Path.home() / ".twinsight"


def twin_template(name: str, home: Path | str | None = None) -> str | None:
    """The template twin ``name`` was made from, read from its twin.yaml alone (no database is
    opened); None when there is no such twin or its file cannot be read (the command that opens
    it then says why)."""
    try:
        config = yaml.safe_load((twin_home(home) / name / CONFIG).read_text("utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    template = config.get("template") if isinstance(config, dict) else None
    return template if isinstance(template, str) else None


def _folder(name: str, home: Path | str | None) -> Path:
    if not _NAME.match(name):
        raise TwinError(
            f"'{name}' is not a twin name: use letters, digits, '_', '-' or '.', "
            "starting with a letter or digit (at most 64)"
        )
    return twin_home(home) / name


def init_twin(
    name: str, template: str = "hospital", home: Path | str | None = None, db_url: str | None = None
) -> Twin:
    """Create a twin: its folder, a new pseudonym key file (0600), ``twin.yaml``, the store."""
    if template not in TEMPLATES:
        raise TwinError(f"there is no template '{template}': choose one of {', '.join(TEMPLATES)}")
    folder = _folder(name, home)
    if (folder / CONFIG).exists():
        raise TwinError(f"twin '{name}' already exists in {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    key_file = folder / KEY_FILE
    if not key_file.exists():
        create_key_file(key_file)
    config = {"twinsight": 1, "name": name, "template": template}
    config["store"] = "sqlite" if db_url is None else "url"
    engine = open_store(db_url or folder / DATABASE)
    anchor_folder(engine, folder)  # the audit log's anchor (docs/security.md)
    (folder / CONFIG).write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return Twin(name, folder, template, engine, load_pseudonymiser(key_file))


def open_twin(name: str, home: Path | str | None = None, db_url: str | None = None) -> Twin:
    """Open an existing twin (its store migrated to the latest schema)."""
    folder = _folder(name, home)
    try:
        config: Any = yaml.safe_load((folder / CONFIG).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TwinError(
            f"there is no twin '{name}' in {folder.parent}: create it with "
            f"'twinsight init {name} --template hospital' or pass --home"
        ) from None
    if not isinstance(config, dict) or "template" not in config:
        raise TwinError(f"{folder / CONFIG} is not a twin file (no 'template')")
    if config.get("store") == "url" and db_url is None:
        raise TwinError(f"twin '{name}' keeps its events in a database server: pass --db URL")
    pseudonymise = load_pseudonymiser(folder / KEY_FILE)
    engine = open_store(db_url or folder / DATABASE)
    anchor_folder(engine, folder)  # the audit log's anchor (docs/security.md)
    return Twin(name, folder, str(config["template"]), engine, pseudonymise)
