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
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from twinsight.engines._calendar import Calendar
from twinsight.experiment import run_experiment
from twinsight.spec import FlowSpec, PoissonArrivals, load_spec

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))
FAMILY_ALPHA = 0.01
REPS = 24
ARRIVAL_BUDGET = 12_000
#: Percentiles of the fast engine are exact to its histogram's bin width (docs/semantics.md).
PERCENTILE_REL_TOL = 0.006

pytest.importorskip("twinsight.engines.fast", reason="the fast engine is not built yet")
pytest.importorskip("twinsight.engines.reference", reason="the reference engine is not built yet")


def _welch_p(a: np.ndarray, b: np.ndarray, rel_tol: float) -> float:
    """Two-sided Welch p-value; for two constant samples 1 if equal within ``rel_tol``, else 0."""
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size < 2 or b.size < 2:
        return 1.0
    if a.std() == 0 and b.std() == 0:
        return 1.0 if math.isclose(a[0], b[0], rel_tol=rel_tol, abs_tol=1e-12) else 0.0
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def _is_percentile(kpi: str) -> bool:
    return re.search(r"_p[0-9.]+$", kpi.split("[")[0]) is not None


def _scaled_run(spec: FlowSpec) -> tuple[float, float]:
    """Horizon and warm-up, shrunk in proportion so that a replication sees about
    ``ARRIVAL_BUDGET`` arrivals (the reference engine does ~50k per second)."""
    cal = Calendar(spec)
    expected = 0.0
    for arr in spec.arrivals:
        if isinstance(arr, PoissonArrivals):
            size = (
                1.0
                if arr.batch is None
                else float(np.dot(arr.batch.values, arr.batch.probabilities()))
            )
            expected += float(cal.rate_table(arr).mean()) * spec.horizon * size
        else:
            expected += sum(n for _, n in cal.scheduled_times(arr, spec.horizon))
    factor = min(1.0, ARRIVAL_BUDGET / max(expected, 1.0))
    return spec.horizon * factor, spec.warmup * factor


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_kpi_agrees(path: Path) -> None:
    spec = load_spec(path)
    horizon, warmup = _scaled_run(spec)
    fast = run_experiment(spec, reps=REPS, seed=101, engine="fast", horizon=horizon, warmup=warmup)
    ref = run_experiment(
        spec, reps=REPS, seed=202, engine="reference", horizon=horizon, warmup=warmup
    )
    assert set(fast.per_rep) == set(ref.per_rep)
    p_values = {}
    for k in fast.per_rep:
        tol = PERCENTILE_REL_TOL if _is_percentile(k) else 1e-9
        p_values[k] = _welch_p(fast.per_rep[k], ref.per_rep[k], tol)
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
