"""Govern: privacy, data protection and accountability.

Pseudonymisation of identifiers on ingest (``_pseudonym``), the hash-chained audit log
(``audit``: ``append``, ``verify``), small-cell suppression of person counts (``suppress``),
API tokens and roles (``AccessStore``, ``Principal``). See ``docs/security.md``.
"""

from __future__ import annotations

from . import _audit as audit
from ._access import (
    ACCESS_DB,
    ACTIONS,
    LOCAL,
    ROLES,
    AccessError,
    AccessStore,
    Principal,
    TokenInfo,
    allowed,
)
from ._anchor import ANCHOR_KEY_ENV, AnchorError, anchor_folder, attach_anchor
from ._pseudonym import (
    KEY_ENV,
    KEY_FILE,
    Pseudonymiser,
    PseudonymKeyError,
    create_key_file,
    load_pseudonymiser,
)
from ._suppress import (
    CONFIDENTIAL,
    DEFAULT_K,
    protect,
    protect_breakdown,
    protect_census,
    protect_json,
    suppress,
    suppress_counts,
    suppress_frame,
)

__all__ = [
    "ACCESS_DB",
    "ACTIONS",
    "ANCHOR_KEY_ENV",
    "CONFIDENTIAL",
    "DEFAULT_K",
    "KEY_ENV",
    "KEY_FILE",
    "LOCAL",
    "ROLES",
    "AccessError",
    "AccessStore",
    "AnchorError",
    "Principal",
    "PseudonymKeyError",
    "Pseudonymiser",
    "TokenInfo",
    "allowed",
    "anchor_folder",
    "attach_anchor",
    "audit",
    "create_key_file",
    "load_pseudonymiser",
    "protect",
    "protect_breakdown",
    "protect_census",
    "protect_json",
    "suppress",
    "suppress_counts",
    "suppress_frame",
]
