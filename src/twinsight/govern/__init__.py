"""Govern: privacy, data protection and accountability.

Pseudonymisation of identifiers on ingest (``_pseudonym``), the hash-chained audit log
(``audit``: ``append``, ``verify``), small-cell suppression of person counts (``suppress``),
API tokens and roles (``access``) and retention (``retention``). See ``docs/security.md``.
"""

from __future__ import annotations

from . import _audit as audit
from ._pseudonym import (
    KEY_ENV,
    KEY_FILE,
    Pseudonymiser,
    PseudonymKeyError,
    create_key_file,
    load_pseudonymiser,
)

__all__ = [
    "KEY_ENV",
    "KEY_FILE",
    "PseudonymKeyError",
    "Pseudonymiser",
    "audit",
    "create_key_file",
    "load_pseudonymiser",
]
