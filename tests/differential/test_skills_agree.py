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

import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from twinsight.experiment import run_experiment
from twinsight.spec import FlowSpec, load_spec, validate_dict

pytest.importorskip("twinsight.engines.fast", reason="the fast engine is not built yet")

SPEC = Path(__file__).parents[2] / "examples" / "contact" / "skills_overflow.yaml"
FAMILY_ALPHA = 0.01
REPS = 24
PERCENTILE_REL_TOL = 0.006  # the fast engine's histogram bin width (docs/semantics.md)


def _welch_p(a: np.ndarray, b: np.ndarray, rel_tol: float) -> float:
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size < 2 or b.size < 2:
        return 1.0
    if a.std() == 0 and b.std() == 0:
        return 1.0 if math.isclose(a[0], b[0], rel_tol=rel_tol, abs_tol=1e-12) else 0.0
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def _agree(spec: FlowSpec) -> None:
    fast = run_experiment(spec, reps=REPS, seed=101, engine="fast")
    ref = run_experiment(spec, reps=REPS, seed=202, engine="reference")
    assert set(fast.per_rep) == set(ref.per_rep)
    p_values = {}
    for k in fast.per_rep:
        pct = re.search(r"_p[0-9.]+$", k.split("[")[0]) is not None
        p_values[k] = _welch_p(fast.per_rep[k], ref.per_rep[k], PERCENTILE_REL_TOL if pct else 1e-9)
    level = FAMILY_ALPHA / len(p_values)
    bad = {
        k: (float(np.nanmean(fast.per_rep[k])), float(np.nanmean(ref.per_rep[k])), p)
        for k, p in p_values.items()
        if p < level
    }
    assert not bad, f"engines disagree (fast mean, reference mean, p) at level {level:.2g}: {bad}"
    for k in fast.per_rep:
        assert np.isnan(fast.per_rep[k]).all() == np.isnan(ref.per_rep[k]).all(), k
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
