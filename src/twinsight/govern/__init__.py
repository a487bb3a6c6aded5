"""Govern: privacy and data protection (pseudonymisation of identifiers on ingest)."""

from __future__ import annotations

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
    "create_key_file",
    "load_pseudonymiser",
]
