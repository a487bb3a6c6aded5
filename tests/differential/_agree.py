"""What the differential tests share: the two engines' replications compared KPI by KPI.

Both engines run independent replications (different seeds) and every KPI is compared with
Welch's two-sample t-test at a family-wise level of 1% (Bonferroni: each of K KPIs at 0.01/K),
so a correct pair of engines fails with probability at most 1%. A KPI constant in both samples
must be equal (percentiles of the fast engine to its histogram's bin width), and a KPI undefined
(NaN) in every replication of one engine must be so in the other.
"""

from __future__ import annotations

import math
import re

import numpy as np
from scipy import stats

from twinsight.experiment import ExperimentResult

FAMILY_ALPHA = 0.01
#: Percentiles of the fast engine are exact to its histogram's bin width (docs/semantics.md).
PERCENTILE_REL_TOL = 0.006


def is_percentile(kpi: str) -> bool:
    """Whether ``kpi`` is a percentile (``wait_p90[...]``)."""
    return re.search(r"_p[0-9.]+$", kpi.split("[")[0]) is not None


def welch_p(a: np.ndarray, b: np.ndarray, rel_tol: float) -> float:
    """Two-sided Welch p-value; for two constant samples 1 if equal within ``rel_tol``, else 0."""
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size < 2 or b.size < 2:
        return 1.0
    if a.std() == 0 and b.std() == 0:
        return 1.0 if math.isclose(a[0], b[0], rel_tol=rel_tol, abs_tol=1e-12) else 0.0
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def assert_engines_agree(fast: ExperimentResult, ref: ExperimentResult) -> None:
    """Every KPI of ``fast`` and ``ref`` agrees at the family-wise level (module docstring)."""
    assert set(fast.per_rep) == set(ref.per_rep)
    p_values = {}
    for k in fast.per_rep:
        tol = PERCENTILE_REL_TOL if is_percentile(k) else 1e-9
        p_values[k] = welch_p(fast.per_rep[k], ref.per_rep[k], tol)
    level = FAMILY_ALPHA / len(p_values)
    bad = {
        k: (float(np.nanmean(fast.per_rep[k])), float(np.nanmean(ref.per_rep[k])), p)
        for k, p in p_values.items()
        if p < level
    }
    assert not bad, f"engines disagree (fast mean, reference mean, p) at level {level:.2g}: {bad}"
    for k in fast.per_rep:
        assert np.isnan(fast.per_rep[k]).all() == np.isnan(ref.per_rep[k]).all(), k
