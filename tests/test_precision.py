"""Sequential replications to a target precision, continuing replication numbers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from twinsight import load_spec
from twinsight.experiment import PrecisionTarget, run_experiment, run_to_precision

MMC = Path(__file__).parents[1] / "examples" / "mmc.yaml"


def test_parse_absolute_and_relative() -> None:
    assert PrecisionTarget.parse("wait_mean[counter]=0.05") == PrecisionTarget(
        "wait_mean[counter]", 0.05, False
    )
    assert PrecisionTarget.parse("throughput=5%") == PrecisionTarget("throughput", 0.05, True)
    for bad in ["wait_mean", "=3", "wait_mean=abc", "wait_mean=-1", "wait_mean=0%"]:
        with pytest.raises(ValueError):
            PrecisionTarget.parse(bad)


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_reaches_the_target_and_equals_one_straight_run(engine: str) -> None:
    spec = load_spec(MMC)
    target = PrecisionTarget.parse("wait_mean[counter]=5%")
    result, met = run_to_precision(
        spec, target, pilot_reps=4, max_reps=400, engine=engine, horizon=3000, warmup=300
    )
    iv = result.interval("wait_mean[counter]")
    assert met and iv.half_width <= 0.05 * iv.mean
    assert result.reps > 4  # the pilot alone is not precise enough at this horizon
    # replication numbers continue, so the extended experiment is one straight run
    straight = run_experiment(spec, result.reps, engine=engine, horizon=3000, warmup=300)
    for kpi, values in straight.per_rep.items():
        np.testing.assert_array_equal(values, result.per_rep[kpi], err_msg=kpi)


def test_stops_at_max_reps_and_says_so() -> None:
    spec = load_spec(MMC)
    target = PrecisionTarget.parse("wait_mean[counter]=0.1%")
    result, met = run_to_precision(spec, target, pilot_reps=3, max_reps=6, horizon=2000, warmup=200)
    assert not met and result.reps == 6


def _precise(*where: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "twinsight.cli", "simulate", str(MMC), "--reps", "4",
         "--precision", "wait_mean[counter]=5%", "--warmup", "auto", "--horizon", "3000",
         "--json", *where],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_cli_precision_and_auto_warmup() -> None:
    out = _precise()
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["reps"] > 4
    kpi = data["kpis"]["wait_mean[counter]"]
    assert kpi["half_width"] <= 0.05 * kpi["mean"]
    assert "precision reached: wait_mean[counter]" in out.stderr
    assert "warm-up by MSER-5" in out.stderr
    # every round of the sequential rule on a pool of 2 processes: the same replications
    pooled = _precise("--executor", "processes", "--workers", "2")
    assert pooled.returncode == 0, pooled.stderr
    assert json.loads(pooled.stdout) == data


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--precision", "nope=3%"], "unknown KPI 'nope'"),
        (["--precision", "wait_mean[counter]"], "write KPI=HALF_WIDTH"),
        (["--warmup", "soon"], "--warmup 'soon' is not a number"),
    ],
)
def test_cli_bad_precision_or_warmup(args: list[str], message: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "twinsight.cli", "simulate", str(MMC), "-q", *args],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 2
    assert message in out.stderr + out.stdout
    assert "Traceback" not in out.stderr
