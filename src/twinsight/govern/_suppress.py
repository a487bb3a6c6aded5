"""Small-cell suppression: person counts below ``k`` leave the service as ``"<k"``.

A count of people between 1 and ``k - 1`` could single someone out (two patients in a small
unit, one of them known to a reader), so wherever person-level counts leave Twinsight (the
HTTP API, exports) they go through ``suppress``: ``0`` and counts of at least ``k`` are shown,
the others become the text ``"<k"`` (``"<5"`` with the default ``k = 5``). ``k = 1`` turns
suppression off. Only counts of *people* are suppressed; counts of events, beds or hours are not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_K", "suppress", "suppress_counts", "suppress_frame"]

#: The default threshold: person counts 1-4 are shown as ``"<5"``.
DEFAULT_K = 5


def suppress(count: int, k: int = DEFAULT_K) -> int | str:
    """``count`` (people) if it is 0 or at least ``k``, else ``"<k"``."""
    if k < 1:
        raise ValueError(f"k must be at least 1 (1 turns suppression off), not {k}")
    if count < 0:
        raise ValueError(f"a count of people cannot be negative ({count})")
    return count if count == 0 or count >= k else f"<{k}"


def suppress_counts(counts: Mapping[str, int], k: int = DEFAULT_K) -> dict[str, int | str]:
    """Each value of ``counts`` (people per unit, per group) through ``suppress``."""
    return {key: suppress(int(value), k) for key, value in counts.items()}


def suppress_frame(frame: pd.DataFrame, columns: Iterable[str], k: int = DEFAULT_K) -> pd.DataFrame:
    """A copy of ``frame`` whose ``columns`` (counts of people) went through ``suppress``.

    Those columns become ``object`` columns holding ints and ``"<k"`` texts; missing values stay.
    """
    out = frame.copy()
    for column in columns:
        out[column] = [
            value if value != value else suppress(int(value), k)  # NaN stays NaN
            for value in frame[column].tolist()
        ]
        out[column] = out[column].astype(object)
    return out
