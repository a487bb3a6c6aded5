"""The audit log's anchor: its newest entry (seq and hash), kept outside the database.

A hash chain proves that no entry inside it was edited, removed or reordered, but deleting the
*newest* entries leaves a valid, shorter chain. The anchor closes that gap: a small file
(``<twin>/audit.anchor``, ``<home>/access.anchor``) holding the seq and hash of the newest
committed entry, authenticated with ``HMAC-SHA256(key, "twinsight-audit-anchor:v1:<seq>:<hash>")``.
The key comes from ``$TWINSIGHT_AUDIT_KEY`` or a key file (mode 0600, created on first use),
never from the database, so someone who can rewrite the database cannot move the anchor back.

Order of writes: the anchor moves only *after* the entry's transaction committed, so a crash
between the two leaves the anchor behind the database (accepted: verify checks the chain up to
the anchor and reports the lag), never ahead of it. An anchor ahead of the database means
entries were removed. Writers in several threads or processes take an exclusive lock on
``<anchor>.lock`` and the anchor only ever moves forward (a slower writer of an older entry
leaves it alone); the file is replaced atomically (written to a temporary file, renamed) and
not fsynced: the entry's commit already was, so a power cut leaves the previous anchor (behind)
or, rarely, an empty file (reported like a deleted anchor whose key file exists).

Entries appended with ``durable=False`` do not move the anchor (their commit may still be lost
in a power cut, which would leave the anchor ahead): the next durable append covers them.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event

try:  # POSIX; elsewhere writers in one process are still serialised by _LOCAL
    import fcntl
except ImportError:  # pragma: no cover - not on Linux
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "ANCHOR_FILE",
    "ANCHOR_KEY_ENV",
    "ANCHOR_KEY_FILE",
    "Anchor",
    "AnchorError",
    "AnchorFile",
    "anchor_folder",
    "anchor_of",
    "attach_anchor",
    "note_pending",
]

#: A twin's anchor file and key file, relative to its folder.
ANCHOR_FILE = Path("audit.anchor")
ANCHOR_KEY_FILE = Path("secrets") / "audit.key"
#: Environment variable holding the anchor's HMAC key (it wins over the key file).
ANCHOR_KEY_ENV = "TWINSIGHT_AUDIT_KEY"

_LOG = logging.getLogger("twinsight.audit")
_LOCAL = threading.Lock()
_PENDING = "twinsight_audit_pending"
_COMMITTED = "twinsight_audit_committed"
_ANCHORS: weakref.WeakKeyDictionary[Engine, AnchorFile] = weakref.WeakKeyDictionary()


class AnchorError(RuntimeError):
    """The anchor file cannot be read, or its HMAC does not match (it was altered)."""


@dataclass(frozen=True)
class Anchor:
    """The newest entry the anchor vouches for: ``seq`` and its ``hash``."""

    seq: int
    hash: str


class AnchorFile:
    """One anchor file and its key (``key_file`` unless ``$TWINSIGHT_AUDIT_KEY`` is set)."""

    def __init__(self, path: Path, key_file: Path) -> None:
        self.path = Path(path)
        self.key_file = Path(key_file)
        self._cached: bytes | None = None  # the key file's key, once read

    def _key(self, create: bool) -> bytes:
        from_env = os.environ.get(ANCHOR_KEY_ENV)
        if from_env:
            return from_env.encode("utf-8")
        if self._cached is not None:
            return self._cached
        try:
            self._cached = self.key_file.read_text(encoding="ascii").strip().encode("ascii")
            return self._cached
        except FileNotFoundError:
            if not create:
                raise AnchorError(
                    f"the audit anchor's key {self.key_file} is missing: restore it or set "
                    f"{ANCHOR_KEY_ENV}"
                ) from None
        self.key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileExistsError):  # another writer made it first
            fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        return self.key_file.read_text(encoding="ascii").strip().encode("ascii")

    @staticmethod
    def _mac(key: bytes, seq: int, digest: str) -> str:
        message = f"twinsight-audit-anchor:v1:{seq}:{digest}".encode("ascii")
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    def _none(self) -> None:
        """No anchor: fine before the first anchored append; with the key file already there
        (it is made with the first anchor) the anchor was deleted or emptied."""
        if not os.environ.get(ANCHOR_KEY_ENV) and self.key_file.exists():
            raise AnchorError(
                f"the audit anchor {self.path} is missing or empty while its key exists: it was "
                "deleted, so the newest entries cannot be checked (after restoring a backup: "
                "twinsight audit verify NAME --reanchor)"
            )

    def read(self) -> Anchor | None:
        """The anchor (None when there is none yet); ``AnchorError`` if it is unreadable,
        forged, or gone although its key file exists."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self._none()
            return None
        except OSError as exc:
            raise AnchorError(f"cannot read the audit anchor {self.path}: {exc}") from None
        if not text.strip():  # emptied (or a power cut before its data reached the disk)
            self._none()
            return None
        try:
            body = json.loads(text)
            seq, digest, mac = int(body["seq"]), str(body["hash"]), str(body["mac"])
        except (ValueError, KeyError, TypeError):
            raise AnchorError(f"the audit anchor {self.path} is not an anchor file") from None
        if not hmac.compare_digest(mac, self._mac(self._key(create=False), seq, digest)):
            raise AnchorError(
                f"the audit anchor {self.path} was altered (its HMAC does not match its key)"
            )
        return Anchor(seq, digest)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _LOCAL, open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            if fcntl is not None:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            yield

    def _write(self, anchor: Anchor) -> None:
        key = self._key(create=True)
        body = {"v": 1, "seq": anchor.seq, "hash": anchor.hash}
        body["mac"] = self._mac(key, anchor.seq, anchor.hash)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        # no fsync: the entry's commit was synced before this began, so a power cut can only
        # leave the previous anchor (behind: accepted) or an empty file (reported as deleted)
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(body) + "\n")
        os.replace(tmp, self.path)

    def advance(self, seq: int, digest: str) -> None:
        """Move the anchor to ``(seq, digest)`` unless it already vouches for a later entry.

        An anchor that cannot be read (altered) is left alone: verify reports it.
        """
        with self._locked():
            try:
                current = self.read()
            except AnchorError:
                return
            if current is None or seq > current.seq:
                self._write(Anchor(seq, digest))

    def reset(self, anchor: Anchor | None) -> None:
        """Set the anchor to ``anchor`` whatever it holds (None: remove it); for operators who
        restored the database from a backup, after they checked the chain."""
        with self._locked():
            if anchor is None:
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
            else:
                self._write(anchor)


def note_pending(conn: Connection, seq: int, digest: str, durable: bool) -> None:
    """Remember an entry written on ``conn``: the anchor moves to it once the transaction
    committed (``durable=False``: it does not, see the module docstring)."""
    if durable and anchor_of(conn.engine) is not None:
        conn.info.setdefault(_PENDING, []).append((seq, digest))


def _flush(anchor: AnchorFile, info: dict[Any, Any]) -> None:
    committed = info.pop(_COMMITTED, None)
    if not committed:
        return
    try:
        anchor.advance(*max(committed))
    except OSError as exc:  # the entry is stored; the anchor only lags (verify says so)
        _LOG.warning("audit anchor %s not moved: %s", anchor.path, type(exc).__name__)


def attach_anchor(engine: Engine, path: Path, key_file: Path) -> AnchorFile:
    """Keep ``engine``'s audit log anchored in ``path`` (see the module docstring)."""
    existing = _ANCHORS.get(engine)
    if existing is not None:
        return existing
    anchor = AnchorFile(path, key_file)
    _ANCHORS[engine] = anchor

    def committing(conn: Connection) -> None:  # fires just before the DBAPI commit
        pending = conn.info.pop(_PENDING, None)
        if pending:
            conn.info.setdefault(_COMMITTED, []).extend(pending)

    def rolled_back(conn: Connection) -> None:
        conn.info.pop(_PENDING, None)
        conn.info.pop(_COMMITTED, None)

    def failed(context: Any) -> None:  # a commit that failed must not move the anchor
        conn = context.connection
        if conn is not None:
            conn.info.pop(_COMMITTED, None)

    def begun(conn: Connection) -> None:  # the previous transaction's commit is done
        _flush(anchor, conn.info)

    def checked_in(_dbapi: Any, record: Any) -> None:
        if record is not None:
            _flush(anchor, record.info)

    event.listen(engine, "commit", committing)
    event.listen(engine, "rollback", rolled_back)
    event.listen(engine, "handle_error", failed)
    event.listen(engine, "begin", begun)
    event.listen(engine, "checkin", checked_in)
    return anchor


def anchor_of(engine: Engine) -> AnchorFile | None:
    """The anchor attached to ``engine`` (None: its log is not anchored)."""
    found = _ANCHORS.get(engine)
    proxied = getattr(engine, "_proxied", None)  # an engine with execution options
    return found if found is not None or proxied is None else _ANCHORS.get(proxied)


def anchor_folder(engine: Engine, folder: Path) -> AnchorFile:
    """Anchor ``engine``'s log in a twin's ``folder`` (``audit.anchor``, ``secrets/audit.key``)."""
    return attach_anchor(engine, Path(folder) / ANCHOR_FILE, Path(folder) / ANCHOR_KEY_FILE)
