"""Twin: a named twin in its home folder (configuration, pseudonym key, store)."""

from __future__ import annotations

from ._home import TEMPLATES, Twin, TwinError, init_twin, open_twin, twin_home, twin_template

__all__ = [
    "TEMPLATES",
    "Twin",
    "TwinError",
    "init_twin",
    "open_twin",
    "twin_home",
    "twin_template",
]
