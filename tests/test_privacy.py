"""Small-cell suppression of person counts."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from twinsight.govern import suppress, suppress_counts, suppress_frame


def test_counts_below_k_are_shown_as_less_than_k() -> None:
    assert [suppress(n) for n in range(7)] == [0, "<5", "<5", "<5", "<5", 5, 6]
    assert suppress(2, k=3) == "<3" and suppress(3, k=3) == 3
    assert suppress(1, k=1) == 1  # k = 1: off
    with pytest.raises(ValueError, match="at least 1"):
        suppress(3, k=0)
    with pytest.raises(ValueError, match="negative"):
        suppress(-1)


def test_dicts_and_frames() -> None:
    assert suppress_counts({"ED": 14, "ICU": 2, "MED": 0}) == {"ED": 14, "ICU": "<5", "MED": 0}
    frame = pd.DataFrame(
        {"unit": ["ED", "ICU", "X"], "census": [14, 2, math.nan], "beds": [2, 2, 2]}
    )
    out = suppress_frame(frame, ["census"])
    assert out["census"].tolist()[:2] == [14, "<5"] and math.isnan(out["census"].tolist()[2])
    assert out["beds"].tolist() == [2, 2, 2]  # not a person count
    assert frame["census"].tolist()[1] == 2  # the input is left alone
