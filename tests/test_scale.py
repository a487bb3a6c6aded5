"""Executors give the same numbers as a plain run, on a real Dask LocalCluster too; a worker
killed mid-run does not change the result; an unreachable cluster fails with a message."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twinsight import load_spec, run_experiment
from twinsight.experiment import ExperimentResult
from twinsight.scale import (
    DaskExecutor,
    ProcessPool,
    RunTask,
    ScaleError,
    auto_choice,
    get_executor,
    run_reps,
)
from twinsight.spec import FlowSpec

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def spec() -> FlowSpec:
    return load_spec(EXAMPLES / "mmc.yaml")


def _same(a: ExperimentResult, b: ExperimentResult) -> None:
    assert a.reps == b.reps
    for k, v in a.per_rep.items():
        np.testing.assert_array_equal(v, b.per_rep[k], err_msg=k)
    for k, rows in a.series.items():
        np.testing.assert_array_equal(rows, b.series[k], err_msg=k)


def _plain(spec: FlowSpec, engine: str = "fast") -> ExperimentResult:
    return run_experiment(spec, 7, 11, engine, horizon=1500, warmup=100)


def test_inprocess_and_process_pool_match_a_plain_run(spec: FlowSpec, pool: ProcessPool) -> None:
    plain = _plain(spec)
    _same(plain, run_experiment(spec, 7, 11, horizon=1500, warmup=100, executor="inprocess"))
    seen: list[tuple[int, int]] = []
    got = run_experiment(
        spec,
        7,
        11,
        horizon=1500,
        warmup=100,
        executor=pool,
        progress=lambda d, t: seen.append((d, t)),
    )
    _same(plain, got)
    # chunk sizes do not matter; a kept-open pool runs a second experiment
    _same(plain, run_experiment(spec, 7, 11, horizon=1500, warmup=100, executor=pool, chunk=3))
    assert seen == [(d, 7) for d in range(1, 8)]  # 7 reps < 4 chunks x 2 workers: 1 per chunk


def test_dask_local_cluster_matches_a_plain_run(spec: FlowSpec, dask_local: DaskExecutor) -> None:
    assert dask_local.workers == 2
    _same(_plain(spec), run_experiment(spec, 7, 11, horizon=1500, warmup=100, executor=dask_local))
    # an extension continues with replications 7.. on the cluster as well
    more = run_experiment(spec, 3, 11, horizon=1500, warmup=100, executor=dask_local, first_rep=7)
    whole = run_experiment(spec, 10, 11, horizon=1500, warmup=100)
    _same(whole, _plain(spec).extend(more))


def test_joining_a_scheduler_by_address(spec: FlowSpec, dask_local: DaskExecutor) -> None:
    assert dask_local.address.startswith("tcp://")
    with DaskExecutor(dask_local.address) as joined:
        assert joined.workers == 2
        got = run_experiment(spec, 4, 11, "reference", horizon=200, warmup=20, executor=joined)
    _same(run_experiment(spec, 4, 11, "reference", horizon=200, warmup=20), got)


def test_auto_gives_the_same_numbers(spec: FlowSpec) -> None:
    plain = _plain(spec)
    auto = run_reps("auto", RunTask(spec, 11, "fast", 1500.0, 100.0), range(7))
    for k, v in plain.per_rep.items():
        np.testing.assert_array_equal([r.kpis[k] for r in auto], v, err_msg=k)


def test_the_auto_rule() -> None:
    # the fast engine's threads already use every core: never a pool
    assert auto_choice("fast", 1000, 60.0, 8) == "inprocess"
    # the reference engine: a pool once the rest would take 20 s here, not for less
    assert auto_choice("reference", 11, 1.9, 2) == "inprocess"
    assert auto_choice("reference", 11, 2.0, 2) == "processes"
    assert auto_choice("reference", 11, None, 2) == "time the first replication"
    assert auto_choice("reference", 2, 60.0, 2) == "inprocess"  # nothing to share out
    assert auto_choice("reference", 100, 60.0, 1) == "inprocess"  # one core


def test_a_killed_dask_worker_does_not_change_the_result(
    spec: FlowSpec, dask_local: DaskExecutor
) -> None:
    pids: dict[str, int] = dask_local.client.run(os.getpid)
    victim = sorted(pids.values())[0]
    killed: list[int] = []

    def kill_once(done: int, total: int) -> None:
        if not killed:
            os.kill(victim, signal.SIGKILL)  # the nanny starts a new worker process
            killed.append(victim)

    expected = run_experiment(spec, 12, 5, "reference", horizon=400, warmup=50)
    got = run_experiment(
        spec,
        12,
        5,
        "reference",
        horizon=400,
        warmup=50,
        executor=dask_local,
        chunk=1,
        progress=kill_once,
    )
    assert killed
    _same(expected, got)


def test_a_killed_pool_worker_is_replaced(spec: FlowSpec, pool: ProcessPool) -> None:
    killed: list[int] = []

    def kill_once(done: int, total: int) -> None:
        if not killed:
            inner: Any = pool._pool
            victim = next(iter(inner._processes))
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    got = run_experiment(
        spec,
        8,
        5,
        "reference",
        horizon=400,
        warmup=50,
        executor=pool,
        chunk=1,
        progress=kill_once,
    )
    assert killed
    _same(run_experiment(spec, 8, 5, "reference", horizon=400, warmup=50), got)


def test_an_unreachable_cluster_is_a_clean_error() -> None:
    with pytest.raises(
        ScaleError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"
    ):
        DaskExecutor("tcp://127.0.0.1:9", timeout=1)
    with pytest.raises(ScaleError, match="neither 'local' nor an address"):
        DaskExecutor("my-cluster")
    with pytest.raises(ScaleError, match="unknown executor"):
        get_executor("threads")


def test_a_pool_that_keeps_losing_workers_fails_with_a_message(
    spec: FlowSpec, pool: ProcessPool
) -> None:
    pool.retries = 0

    def kill(done: int, total: int) -> None:
        inner: Any = pool._pool
        # a live worker: one killed at the last chunk may still be listed until the pool sees it
        live = [pid for pid, proc in list(inner._processes.items()) if proc.is_alive()]
        if live:
            with contextlib.suppress(ProcessLookupError):
                os.kill(live[0], signal.SIGKILL)

    try:
        with pytest.raises(ScaleError, match="a worker process died while running replications"):
            run_experiment(
                spec,
                6,
                5,
                "reference",
                horizon=400,
                warmup=50,
                executor=pool,
                chunk=1,
                progress=kill,
            )
    finally:
        pool.retries = 1


def test_a_cluster_that_goes_away_is_a_clean_error(spec: FlowSpec) -> None:
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                           dashboard_address=":0")  # fmt: skip
    try:
        with DaskExecutor(cluster.scheduler_address, timeout=5) as joined:

            def stop(done: int, total: int) -> None:
                if done == 1:
                    cluster.close()

            with pytest.raises(ScaleError, match="was lost after 1 of 6 chunks"):
                run_experiment(spec, 6, 5, "reference", horizon=300, warmup=30,
                               executor=joined, chunk=1, progress=stop)  # fmt: skip
    finally:
        cluster.close()
