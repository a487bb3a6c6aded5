"""Pseudonymisation: patient identifiers become a keyed hash (HMAC-SHA256) on the way in.

The secret comes from the environment (``TWINSIGHT_PSEUDONYM_KEY``) or from the twin's key file
(``<twin>/secrets/pseudonym.key``, created with mode 0600); it never goes into the database.
The same identifier under the same secret always gives the same key, so a patient's events
link up; without the secret the key cannot be reversed or recomputed from a guessed identifier.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

__all__ = [
    "KEY_ENV",
    "KEY_FILE",
    "PseudonymKeyError",
    "Pseudonymiser",
    "create_key_file",
    "load_pseudonymiser",
]

#: Environment variable that, when set, holds the secret (it wins over the key file).
KEY_ENV = "TWINSIGHT_PSEUDONYM_KEY"
#: Key file, relative to the twin's folder.
KEY_FILE = Path("secrets") / "pseudonym.key"


class PseudonymKeyError(RuntimeError):
    """No usable secret: neither the environment variable nor a readable key file."""


class Pseudonymiser:
    """Maps raw identifiers to 64-hex-digit keyed hashes; holds the secret, never prints it."""

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise PseudonymKeyError("the pseudonym secret is shorter than 16 bytes")
        self._secret = secret

    def __call__(self, raw_id: str) -> str:
        """The pseudonym of ``raw_id``."""
        return hmac.digest(self._secret, raw_id.encode("utf-8"), hashlib.sha256).hex()

    def __repr__(self) -> str:
        return "Pseudonymiser(<secret hidden>)"


def create_key_file(path: Path) -> Path:
    """Write a new random secret (32 bytes, hex) to ``path`` with mode 0600; never overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return path


def load_pseudonymiser(key_file: Path | None = None) -> Pseudonymiser:
    """The pseudonymiser from ``TWINSIGHT_PSEUDONYM_KEY`` if set, else from ``key_file``."""
    from_env = os.environ.get(KEY_ENV)
    if from_env:
        return Pseudonymiser(from_env.encode("utf-8"))
    if key_file is None:
        raise PseudonymKeyError(f"no pseudonym secret: set {KEY_ENV} or give a key file")
    try:
        text = key_file.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise PseudonymKeyError(
            f"cannot read the pseudonym key file {key_file}: {exc.strerror or exc}; "
            f"set {KEY_ENV} or restore the file"
        ) from None
    return Pseudonymiser(text.encode("ascii"))
