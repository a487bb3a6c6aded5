"""Occupancy and queue-length series over time (docs/semantics.md, "Time series").

Over a run with no warm-up whose horizon is a whole number of bins, the average of a series'
bins is exactly the corresponding time average KPI, in both engines: an identity (up to
floating-point rounding), not a statistical statement.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from twinsight import load_spec, run_experiment

HOSPITAL = Path(__file__).parents[1] / "examples" / "hospital.yaml"


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_series_average_to_the_time_average_kpis(engine: str) -> None:
    spec = load_spec(HOSPITAL, ["warmup=0", "horizon=336", "kpis.interval=12"])
    result = run_experiment(spec, reps=3, seed=4, engine=engine)
    for station in spec.station_names():
        occupancy = result.series[f"occupancy[{station}]"]
        queue = result.series[f"queue[{station}]"]
        assert occupancy.shape == queue.shape == (3, 28)
        np.testing.assert_allclose(
            occupancy.mean(axis=1), result.per_rep[f"in_station_mean[{station}]"], rtol=1e-9
        )
        np.testing.assert_allclose(
            queue.mean(axis=1), result.per_rep[f"queue_mean[{station}]"], rtol=1e-9, atol=1e-12
        )
        assert (queue <= occupancy + 1e-9).all()
    # the ED queue really varies over the day: the series is not trivially zero
    assert result.series["queue[treatment]"].max() > 0


def test_cli_json_carries_the_series_with_intervals() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "twinsight.cli", "simulate", str(HOSPITAL), "--reps", "3",
         "--horizon", "336", "--warmup", "48", "--json", "-q"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    series = json.loads(out.stdout)["series"]
    assert set(series) >= {"occupancy[medical_ward]", "queue[treatment]"}
    bins = series["occupancy[medical_ward]"]
    assert len(bins["mean"]) == len(bins["half_width"]) == 14  # 336 h in bins of 24 h
    assert all(m > 0 for m in bins["mean"])
