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

from pathlib import Path

import numpy as np
import pytest

from twinsight.engines._calendar import Calendar
from twinsight.experiment import run_experiment
from twinsight.spec import FlowSpec, PoissonArrivals, load_spec

from ._agree import assert_engines_agree

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))
REPS = 24
ARRIVAL_BUDGET = 12_000

pytest.importorskip("twinsight.engines.fast", reason="the fast engine is not built yet")
pytest.importorskip("twinsight.engines.reference", reason="the reference engine is not built yet")


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
    assert_engines_agree(fast, ref)
