"""Typed numba decorators of the fast engine (mypy sees the decorated functions unchanged)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from numba import njit

__all__ = ["hot", "kernel"]

F = TypeVar("F", bound=Callable[..., Any])


def hot(fn: F) -> F:
    """Compile a hot-loop helper: cached, no reference counting (it must not allocate)."""
    return cast(F, cast(Any, njit)(cache=True, _nrt=False)(fn))


def kernel(fn: F) -> F:
    """Compile a function that allocates (cached, reference counted, releases the GIL)."""
    return cast(F, njit(cache=True, nogil=True)(fn))


def inlined(fn: F) -> F:
    """Like :func:`hot`, inlined into its callers by numba (saves passing the array bundle)."""
    return cast(F, cast(Any, njit)(cache=True, _nrt=False, inline="always")(fn))
