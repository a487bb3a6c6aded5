"""Comparisons and hospital forecasts on a real process pool and a real Dask LocalCluster give
exactly the numbers they give in this process; every batch of a ``--precision`` loop goes to
the executor; a lost pool worker does not change the numbers; Ctrl-C stores nothing."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from twinsight.assimilate import ED, HospitalState, PresentPatient
from twinsight.cli import app
from twinsight.decide import (
    Comparison,
    PairedTarget,
    compare,
    compare_spec,
    hospital_variants,
    list_runs,
    load_scenario,
    parse_scenario,
    spec_variants,
)
from twinsight.engines import RepResult
from twinsight.forecast import EXIT, Forecast, HospitalModel, UnitModel, forecast
from twinsight.scale import DaskExecutor, Executor, InProcess, Job, JobRunner, ProcessPool, RunTask
from twinsight.spec import load_spec
from twinsight.store import open_store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
SCENARIOS = Path(__file__).resolve().parents[1] / "examples" / "scenarios"
STAFFING = SCENARIOS / "staffing.yaml"
ONE_MORE = SCENARIOS / "staffing-one-more-agent.yaml"
DAY_SHIFT = SCENARIOS / "staffing-day-shift.yaml"


def _patient(unit: str, elapsed: float, key: str) -> PresentPatient:
    since = T0 - timedelta(hours=elapsed)
    return PresentPatient(key, unit, since, since, elapsed, elapsed)


@pytest.fixture(scope="module")
def hospital() -> tuple[HospitalModel, HospitalState]:
    """Two wards with tight beds (so scenarios matter), their calibration's uncertainty, and a
    present of 40 patients (the warm start that travels to the workers)."""
    stay = {"dist": "lognormal", "mean": 30.0, "sd": 20.0}
    units = {"MED1": UnitModel(14, stay, {EXIT: 0.9, "MED2": 0.1}), "MED2": UnitModel(12, stay)}
    model = HospitalModel(
        [3.0] * 168,
        {EXIT: 0.6, "MED1": 0.25, "MED2": 0.15},
        {"dist": "exponential", "mean": 2.0},
        {"dist": "exponential", "mean": 3.0},
        units,
        los_se={"MED1": 0.1, "MED2": 0.1, ED: 0.05},
    )
    patients = [_patient("MED1", 2.0 + 3 * i, f"a{i}") for i in range(13)]
    patients += [_patient("MED2", 1.0 + 4 * i, f"b{i}") for i in range(11)]
    patients += [_patient(ED, 0.2 * i, f"e{i}") for i in range(16)]
    census = {"MED1": 13, "MED2": 11, ED: 16}
    return model, HospitalState(T0, census, patients)


class Counting:
    """A real executor, counting the batches (``map_jobs`` calls) given to it."""

    def __init__(self, inner: Executor) -> None:
        self.inner, self.name, self.workers = inner, inner.name, inner.workers
        self.batches: list[int] = []

    def chunk_size(self, reps: int) -> int:
        return self.inner.chunk_size(reps)

    def map(self, task: Any, chunks: Sequence[Sequence[int]]) -> Iterator[list[RepResult]]:
        return self.inner.map(task, chunks)

    def map_jobs(self, jobs: Sequence[Job]) -> Iterator[list[RepResult]]:
        self.batches.append(sum(len(reps) for _, reps in jobs))
        return self.inner.map_jobs(jobs)

    def close(self) -> None:
        """The fixture closes the inner one."""


def _same_forecast(a: Forecast, b: Forecast) -> None:
    assert a.samples.keys() == b.samples.keys() and a.per_rep.keys() == b.per_rep.keys()
    for unit, rows in a.samples.items():
        np.testing.assert_array_equal(rows, b.samples[unit], err_msg=unit)
    for name, values in a.per_rep.items():
        np.testing.assert_array_equal(values, b.per_rep[name], err_msg=name)


def _same_comparison(a: Comparison, b: Comparison) -> None:
    assert a.reps == b.reps and [k.key for k in a.kpis] == [k.key for k in b.kpis]
    for va, vb in zip(a.values, b.values, strict=True):
        for key, values in va.items():
            np.testing.assert_array_equal(values, vb[key], err_msg=key)
    assert a.to_json() == b.to_json()


def _hospital_comparison(
    hospital: tuple[HospitalModel, HospitalState], executor: Any = None, reps: int = 12
) -> Comparison:
    """Open 4 beds on MED1 against the baseline over a day, with the calibration's uncertainty
    drawn per replication (each replication its own spec, run on the executor)."""
    model, state = hospital
    more = parse_scenario("name: more\ninterventions:\n  - beds: {unit: MED1, change: 4}\n")
    variants = hospital_variants(model, state, [more], 1.0)
    return compare(variants, reps=reps, seed=3, rate_cv=0.15, days=1.0, start=state.at,
                   chunk=5, executor=executor)  # fmt: skip


def _spec_to_precision(executor: Any = None) -> Comparison:
    spec = load_spec(STAFFING)
    scenarios = [load_scenario(ONE_MORE), load_scenario(DAY_SHIFT)]
    target = [PairedTarget("wait_mean", 0.4)]
    comp, _ = compare_spec(spec, scenarios, reps=4, seed=2, targets=target, chunk=4,
                           executor=executor)  # fmt: skip
    return comp


@pytest.fixture(scope="module")
def here(hospital: tuple[HospitalModel, HospitalState]) -> dict[str, Any]:
    """The in-process numbers every executor must give."""
    model, state = hospital
    return {
        "forecast": forecast(model, state, 1.0, reps=30, seed=4, rate_cv=0.2, groups=5),
        "hospital": _hospital_comparison(hospital),
        "spec": _spec_to_precision(),
    }


def test_a_process_pool_gives_the_in_process_numbers(
    hospital: tuple[HospitalModel, HospitalState], here: dict[str, Any], pool: ProcessPool
) -> None:
    model, state = hospital
    got = forecast(model, state, 1.0, reps=30, seed=4, rate_cv=0.2, groups=5, executor=pool)
    _same_forecast(here["forecast"], got)
    counting = Counting(pool)
    _same_comparison(here["hospital"], _hospital_comparison(hospital, counting))
    assert counting.batches == [10, 10, 4]  # 12 reps of 2 variants in batches of 5 per variant
    counting = Counting(pool)
    precise = _spec_to_precision(counting)
    _same_comparison(here["spec"], precise)
    # the pilot, then every step of the sequential loop, went to the pool (3 variants)
    assert precise.precision_met and precise.reps > 4
    assert sum(counting.batches) == 3 * precise.reps and len(counting.batches) >= 2
    # a name: a pool started for the comparison (every batch) and stopped at its end
    _same_comparison(here["spec"], _spec_to_precision("processes"))


def test_a_dask_local_cluster_gives_the_in_process_numbers(
    hospital: tuple[HospitalModel, HospitalState], here: dict[str, Any], dask_local: DaskExecutor
) -> None:
    model, state = hospital
    got = forecast(model, state, 1.0, reps=30, seed=4, rate_cv=0.2, groups=5, executor=dask_local)
    _same_forecast(here["forecast"], got)
    _same_comparison(here["hospital"], _hospital_comparison(hospital, dask_local))
    _same_comparison(here["spec"], _spec_to_precision(dask_local))


def test_a_lost_pool_worker_mid_comparison_changes_nothing_and_ctrl_c_stores_nothing(
    hospital: tuple[HospitalModel, HospitalState],
    here: dict[str, Any],
    pool: ProcessPool,
    tmp_path: Path,
) -> None:
    killed: list[int] = []

    class KillAfterFirstBatch(Counting):
        def map_jobs(self, jobs: Sequence[Job]) -> Iterator[list[RepResult]]:
            if self.batches and not killed:
                inner: Any = pool._pool
                killed.append(next(iter(inner._processes)))
                os.kill(killed[0], signal.SIGKILL)  # the pool is restarted, the batch rerun
            return super().map_jobs(jobs)

    _same_comparison(here["hospital"], _hospital_comparison(hospital, KillAfterFirstBatch(pool)))
    assert killed
    store = open_store(tmp_path / "runs.db")
    spec = load_spec(STAFFING)

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt  # Ctrl-C after the first batch

    with pytest.raises(KeyboardInterrupt):
        compare_spec(spec, [load_scenario(ONE_MORE)], reps=8, chunk=4, progress=stop,
                     store=store, executor=pool)  # fmt: skip
    assert list_runs(store) == []
    store.dispose()


def test_the_cli_runs_compare_and_rerun_on_any_executor(
    tmp_path: Path, dask_local: DaskExecutor
) -> None:
    runner = CliRunner()
    base = ["compare", "--spec", str(STAFFING), str(ONE_MORE), "--reps", "6", "--json",
            "--home", str(tmp_path)]  # fmt: skip
    outs = []
    for where in (["--executor", "inprocess"], ["--executor", "processes", "--workers", "2"],
                  ["--cluster", dask_local.address]):  # fmt: skip
        result = runner.invoke(app, [*base, *where])
        assert result.exit_code == 0, result.output
        outs.append(json.loads(result.output))
    run_ids = [o.pop("run_id") for o in outs]
    assert outs[0] == outs[1] == outs[2] and len(set(run_ids)) == 3
    for where in (["--executor", "processes", "--workers", "2"], ["--cluster", dask_local.address]):
        result = runner.invoke(
            app, ["rerun", run_ids[0], "--home", str(tmp_path), "--json", *where]
        )
        assert result.exit_code == 0 and json.loads(result.output)["identical"], result.output
    result = runner.invoke(app, [*base, "--cluster", "my-cluster"])
    assert result.exit_code == 1 and "neither 'local' nor an address" in result.output
    assert "Traceback" not in result.output


def test_auto_times_the_first_replication_and_moves_the_rest_to_a_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the reference engine holds the GIL: auto runs the first replication here, and the rest on
    # a pool when they would take at least AUTO_PROCESSES_SECONDS (0 here: always)
    spec = load_spec(STAFFING, ["horizon=1200", "warmup=100"])
    variants = spec_variants(spec, [load_scenario(ONE_MORE)])
    here = compare(variants, reps=5, seed=1, engine="reference", chunk=3)
    task = RunTask(spec, 1, "reference", 1200.0, 100.0)
    jobs: list[Job] = [(task, [0, 1, 2]), (task, [3, 4])]
    plain = list(InProcess().map_jobs(jobs))
    monkeypatch.setattr("twinsight.scale._run.AUTO_PROCESSES_SECONDS", 0.0)
    with JobRunner("auto", workers=2) as runner:
        got = list(runner.map(jobs))
        assert isinstance(runner.executor, ProcessPool)
        assert [len(rs) for rs in got] == [3, 2]
        for a, b in zip(
            [r for rs in plain for r in rs], [r for rs in got for r in rs], strict=True
        ):
            np.testing.assert_array_equal(list(a.kpis.values()), list(b.kpis.values()))
    _same_comparison(here, compare(variants, reps=5, seed=1, engine="reference", chunk=3,
                                   executor="auto", workers=2))  # fmt: skip
