"""The contact-centre, social-services and outbreak twins' forecasts, comparisons and reruns
give exactly the same numbers in this process, on a real local process pool and on a real Dask
LocalCluster (issue 4: "same seed, same numbers, on any executor"); the CLI takes
``--executor``/``--cluster``/``--workers`` for them instead of refusing, and a record made on
one executor reruns identically on another."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from _twins import EXAMPLES, casework_twin, contact_twin, outbreak_twin
from twinsight.casework import load_casework_calibration, present
from twinsight.casework._ops import forecast_from
from twinsight.cli import app
from twinsight.contact import run_compare, run_forecast
from twinsight.decide import load_run, rerun
from twinsight.outbreak import (
    compare_outbreak,
    current_calibration,
    forecast_outbreak,
    parse_outbreak_scenario,
)
from twinsight.scale import DaskExecutor, ProcessPool
from twinsight.twin import open_twin

runner = CliRunner()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Calibrated twins: contact-centre ``cc``, social-services ``sw`` and outbreak ``ob``."""
    path = tmp_path_factory.mktemp("twins")
    contact_twin(path, "cc")
    casework_twin(path, "sw")
    outbreak_twin(path, "ob", calibrate=True)
    return path


def _everywhere(run: Any, pool: ProcessPool, dask_local: DaskExecutor) -> list[Any]:
    """``run(executor)`` with no executor, in process, on the pool and on the cluster."""
    return [run(where) for where in (None, "inprocess", pool, dask_local)]


def test_contact_forecast_and_compare_are_the_same_on_every_executor(
    home: Path, pool: ProcessPool, dask_local: DaskExecutor
) -> None:
    twin = open_twin("cc", home=home)
    try:
        # the window ends on a Sunday (closed): two days reach Monday's calls
        outs = _everywhere(
            lambda on: run_forecast(twin, 2, reps=6, seed=4, record=False, executor=on),
            pool,
            dask_local,
        )
        assert outs[0]["queues"]["billing"]["calls"]["mean"] > 0
        assert all(o == outs[0] for o in outs[1:])
        scenario = str(EXAMPLES / "contact" / "fewer-agents.yaml")
        comps = _everywhere(
            lambda on: run_compare(twin, [scenario], days=2, reps=4, seed=2, executor=on),
            pool,
            dask_local,
        )
        first = comps[0][0].to_json()
        assert first["reps"] == 4 and all(c.to_json() == first for c, _ in comps[1:])
        # a record made on the cluster reruns identically in this process and on the pool
        record = load_run(twin.engine, comps[3][1])
        for on in (None, pool):
            assert rerun(twin.engine, record, executor=on).identical
    finally:
        twin.close()


def test_casework_forecast_is_the_same_on_every_executor_and_chunking(
    home: Path, pool: ProcessPool, dask_local: DaskExecutor
) -> None:
    twin = open_twin("sw", home=home)
    try:
        cal, state = load_casework_calibration(twin), present(twin)
        # 5 groups of parameter draws over 13 replications: groups of 3 and 2, cut into chunks
        outs = _everywhere(
            lambda on: forecast_from(cal, state, 5, reps=13, seed=3, groups=5, executor=on),
            pool,
            dask_local,
        )
        first = outs[0].to_dict()
        assert first["reps"] == 13 and len(first["daily"]) == 10
        assert all(o.to_dict() == first for o in outs[1:])
    finally:
        twin.close()


def _cli(home: Path, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, [*args, "--home", str(home), "--json"])
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.output)
    return out


def test_the_cli_runs_the_twins_on_a_running_cluster_and_reruns_anywhere(
    home: Path, dask_local: DaskExecutor
) -> None:
    address = ["--cluster", dask_local.address]
    pool2 = ["--executor", "processes", "--workers", "2"]
    contact = ["forecast", "cc", "--days", "2", "--reps", "4", "--seed", "5"]
    here, there = _cli(home, *contact), _cli(home, *contact, *address)
    assert here.pop("run_id") != there.pop("run_id") and here == there
    casework = ["forecast", "sw", "--days", "3", "--reps", "10"]
    here, there = _cli(home, *casework), _cli(home, *casework, *pool2)
    on_pool = there.pop("run_id")
    assert here.pop("run_id") != on_pool and here == there
    surge = str(EXAMPLES / "casework" / "referral-surge.yaml")
    comp = _cli(home, "compare", "sw", surge, "--reps", "2", *address)
    for where in ([], pool2, address):
        assert _cli(home, "rerun", comp["run_id"], *where)["identical"]
    assert _cli(home, "rerun", on_pool, *address)["identical"]


def test_outbreak_forecast_and_compare_are_the_same_on_every_executor_and_run_count(
    home: Path, pool: ProcessPool, dask_local: DaskExecutor
) -> None:
    twin = open_twin("ob", home=home)
    try:
        cal = current_calibration(twin)
    finally:
        twin.close()
    # 130 runs: blocks of 64, 64 and 2 (the last computed whole and cut)
    outs = _everywhere(
        lambda on: forecast_outbreak(cal, 10, runs=130, seed=6, executor=on), pool, dask_local
    )
    for fc in outs[1:]:
        assert fc.frame.equals(outs[0].frame)
        for name, paths in outs[0].paths.items():
            np.testing.assert_array_equal(fc.paths[name], paths, err_msg=name)
    # run i does not depend on how many runs are drawn with it (its block's own streams)
    fewer = forecast_outbreak(cal, 10, runs=70, seed=6)
    for name, paths in fewer.paths.items():
        np.testing.assert_array_equal(paths, outs[0].paths[name][:70], err_msg=name)
    for name, values in fewer.draws.items():
        np.testing.assert_array_equal(values, outs[0].draws[name][:70], err_msg=name)
    assert np.ptp(outs[0].paths["census"][:, -1]) > 0  # the runs differ: chance at work
    scenario = parse_outbreak_scenario("distancing=30%@3")
    comps = _everywhere(
        lambda on: compare_outbreak(cal, [scenario], days=10, reps=70, seed=2, executor=on),
        pool,
        dask_local,
    )
    first = comps[0].to_json()
    assert first["reps"] == 70 and all(c.to_json() == first for c in comps[1:])
    for va in comps[1:]:
        for mine, theirs in zip(comps[0].values, va.values, strict=True):
            for key, values in mine.items():
                np.testing.assert_array_equal(theirs[key], values, err_msg=key)


def test_the_outbreak_cli_runs_on_a_cluster_and_reruns_on_a_pool(
    home: Path, dask_local: DaskExecutor
) -> None:
    address = ["--cluster", dask_local.address]
    pool2 = ["--executor", "processes", "--workers", "2"]
    forecast = ["forecast", "ob", "--days", "7", "--reps", "70", "--seed", "3"]
    here, there = _cli(home, *forecast), _cli(home, *forecast, *address)
    on_cluster = there.pop("run_id")
    assert here.pop("run_id") != on_cluster and here == there
    comp = _cli(home, "compare", "ob", "cut=20%@2", "--days", "7", "--reps", "20", *pool2)
    for where in ([], address):
        assert _cli(home, "rerun", comp["run_id"], *where)["identical"]
    assert _cli(home, "rerun", on_cluster, *pool2)["identical"]
