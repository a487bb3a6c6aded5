"""Differential test of multi-skill routing and callbacks offered after a wait: the fast and the
reference engine agree on examples/contact/skills_overflow.yaml (two skills, generalists as
overflow, a callback offered after 1 minute, a warm start with waiting callers).

Same family-wise approach as ``test_engines_agree.py``: every KPI compared with Welch's test at
1% family-wise (Bonferroni), so a correct pair of engines fails with probability at most 1%;
constant KPIs must be equal, and a KPI undefined in one engine must be undefined in the other.
A second check runs a variant where the callback station outranks inbound calls and the
generalists are the first choice (the dispatch and preference rules, reversed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twinsight.experiment import run_experiment
from twinsight.spec import FlowSpec, load_spec, validate_dict

from ._agree import assert_engines_agree

pytest.importorskip("twinsight.engines.fast", reason="the fast engine is not built yet")

SPEC = Path(__file__).parents[2] / "examples" / "contact" / "skills_overflow.yaml"
REPS = 24


def _agree(spec: FlowSpec) -> None:
    fast = run_experiment(spec, reps=REPS, seed=101, engine="fast")
    ref = run_experiment(spec, reps=REPS, seed=202, engine="reference")
    assert_engines_agree(fast, ref)
    assert np.nanmean(fast.per_rep["diverted[billing]"]) > 0


def test_skills_overflow_and_callbacks_agree() -> None:
    _agree(load_spec(SPEC))


def test_reversed_preferences_agree() -> None:
    data = load_spec(SPEC).model_dump(by_alias=True, exclude_none=True)
    st = data["stations"]
    st["billing_callback"]["dispatch_priority"] = -1
    st["tech"]["resources"] = {"generalists": 1}
    st["tech"]["alternatives"] = [{"agents_tech": 1}]
    st["billing"]["on_wait"]["becomes"] = "tech"
    _agree(validate_dict(data, "reversed"))
