"""The reference flow engine on SimPy: the rules of docs/semantics.md, literally.

Kept simple and obviously correct; the compiled fast engine is tested against it.
"""

from __future__ import annotations

from ._engine import ReferenceEngine

__all__ = ["ReferenceEngine"]
