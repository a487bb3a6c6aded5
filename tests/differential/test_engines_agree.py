"""Differential tests: the fast and the reference engine mean the same thing.

For every example spec, both engines run independent replications (different seeds, so the
two samples are independent) and every KPI is compared with Welch's two-sample t-test.

Tolerance: under the null hypothesis "both engines simulate the same model", each KPI's
p-value is uniform. We test all K KPIs of an example at a family-wise level of 1% (Bonferroni:
each at 0.01/K), so a correct pair of engines fails an example with probability at most 1%,
while a real difference of a few standard errors (e.g. a wrong routing probability or a service
time off by 5%) is caught. A KPI that is constant in both samples (say, ``balked`` always 0)
must be equal exactly.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from twinsight.experiment import run_experiment
from twinsight.spec import load_spec

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))
FAMILY_ALPHA = 0.01
REPS = 24

pytest.importorskip("twinsight.engines.fast", reason="the fast engine is not built yet")
pytest.importorskip("twinsight.engines.reference", reason="the reference engine is not built yet")


def _welch_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided Welch p-value; 1 when both samples are the same constant, 0 when they differ."""
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size < 2 or b.size < 2:
        return 1.0
    if a.std() == 0 and b.std() == 0:
        return 1.0 if math.isclose(a[0], b[0], rel_tol=1e-9, abs_tol=1e-12) else 0.0
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_kpi_agrees(path: Path) -> None:
    spec = load_spec(path)
    horizon = spec.horizon
    fast = run_experiment(spec, reps=REPS, seed=101, engine="fast", horizon=horizon)
    ref = run_experiment(spec, reps=REPS, seed=202, engine="reference", horizon=horizon)
    assert set(fast.per_rep) == set(ref.per_rep)
    p_values = {k: _welch_p(fast.per_rep[k], ref.per_rep[k]) for k in fast.per_rep}
    level = FAMILY_ALPHA / len(p_values)
    bad = {
        k: (float(np.nanmean(fast.per_rep[k])), float(np.nanmean(ref.per_rep[k])), p)
        for k, p in p_values.items()
        if p < level
    }
    assert not bad, f"engines disagree (fast mean, reference mean, p) at level {level:.2g}: {bad}"
    # undefined in one engine must be undefined in the other
    for k in fast.per_rep:
        assert np.isnan(fast.per_rep[k]).all() == np.isnan(ref.per_rep[k]).all(), k
