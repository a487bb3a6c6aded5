"""The default executor is a local process pool (issue 4), set otherwise by TWINSIGHT_EXECUTOR;
what travels to and from its workers is cheap and changes no number: results come back bit for
bit, a task is unpickled once per worker; and the CLI's compare and forecast, with no option
and no variable, run on a real pool with the numbers they give in this process."""

from __future__ import annotations

import json
import math
import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from twinsight.cli import app
from twinsight.decide import list_runs
from twinsight.emulate import emulate_hospital, write_events
from twinsight.engines import RepResult
from twinsight.hospital import HospitalTwin
from twinsight.scale import (
    EXECUTOR_ENV,
    Job,
    ProcessPool,
    RunTask,
    ScaleError,
    _wire,
    default_executor,
    get_executor,
    prestart,
    resolve_executor,
)
from twinsight.spec import load_spec
from twinsight.store import open_store

SCENARIOS = Path(__file__).resolve().parents[1] / "examples" / "scenarios"
STAFFING = SCENARIOS / "staffing.yaml"
ONE_MORE = SCENARIOS / "staffing-one-more-agent.yaml"


def test_the_default_is_a_pool_except_on_one_core_or_as_the_variable_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(EXECUTOR_ENV, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert (
        default_executor() == "processes" == resolve_executor("default") == resolve_executor(None)
    )
    assert resolve_executor("auto") == "auto" and resolve_executor("inprocess") == "inprocess"
    # one core: no pool can run beside anything, so in this process (unless workers are asked)
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert default_executor() == "inprocess" and default_executor(workers=2) == "processes"
    for value, name in (("inprocess", "inprocess"), (" Auto ", "auto"), ("processes", "processes")):
        monkeypatch.setenv(EXECUTOR_ENV, value)
        assert default_executor() == name
    monkeypatch.setenv(EXECUTOR_ENV, "threads")
    with pytest.raises(ScaleError, match="TWINSIGHT_EXECUTOR='threads' is not an executor"):
        default_executor()
    # an explicit cluster with the default executor means Dask, whatever the variable says
    monkeypatch.setenv(EXECUTOR_ENV, "inprocess")
    with pytest.raises(ScaleError, match="neither 'local' nor an address"):
        get_executor("default", cluster="my-cluster")


def test_the_pool_server_starts_before_the_commands_load_when_a_pool_will_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(EXECUTOR_ENV, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    started: list[bool] = []
    server = "twinsight.scale._executors.start_pool_server"
    monkeypatch.setattr(server, lambda: started.append(True))
    assert prestart(["forecast", "ward", "--days", "7"])
    assert prestart(["compare", "ward", "open-beds", "--executor", "processes"])
    assert prestart(["rerun", "abc", "--executor=processes"])
    for argv in (
        [],
        ["validate", "x.yaml"],
        ["forecast", "ward", "--help"],
        ["forecast", "ward", "--executor", "inprocess"],
        ["simulate", "x.yaml", "--executor=auto"],
        ["compare", "--spec", "a.yaml", "b.yaml", "--cluster", "local"],
    ):
        assert not prestart(argv), argv
    monkeypatch.setenv(EXECUTOR_ENV, "inprocess")
    assert not prestart(["forecast", "ward"])
    monkeypatch.setenv(EXECUTOR_ENV, "nonsense")
    assert not prestart(["forecast", "ward"])  # the command itself reports it
    assert len(started) == 3


def _bits(x: float) -> int:
    return int(struct.unpack("<q", struct.pack("<d", x))[0])


def test_results_travel_as_blocks_bit_for_bit() -> None:
    odd = [0.1, -0.0, math.inf, -math.inf, math.nan, 5e-324, 1e308]
    results = [
        RepResult({"a": odd[i], "b": float(i)}, {"s": np.array(odd) + i, "t": np.arange(3.0) + i})
        for i in range(len(odd))
    ]
    packed = _wire.pack(results)
    assert isinstance(packed, _wire.Packed) and packed.kpis.shape == (7, 2)
    back = _wire.unpack(packed)
    for r, b in zip(results, back, strict=True):
        assert list(b.kpis) == list(r.kpis) and list(b.series) == list(r.series)
        for k, x in r.kpis.items():
            assert type(b.kpis[k]) is float and _bits(b.kpis[k]) == _bits(x)
        for k, v in r.series.items():
            assert b.series[k].dtype == np.float64
            assert b.series[k].tobytes() == v.tobytes()
    # anything else travels as it is: an int KPI, series of different lengths
    ints = [RepResult({"n": 3}), RepResult({"n": 4})]
    assert _wire.pack(ints) is ints
    ragged = [RepResult({"a": 1.0}, {"s": np.zeros(2)}), RepResult({"a": 1.0}, {"s": np.zeros(3)})]
    assert _wire.pack(ragged) is ragged


def test_a_worker_unpickles_a_task_once() -> None:
    spec = load_spec(STAFFING, ["horizon=300", "warmup=30"])
    task = RunTask(spec, 3, "fast", 300.0, 30.0)
    shipped = _wire.ship(task)
    _wire._kept.clear()
    first = _wire.unpack(_wire.run_shipped(shipped, [0, 1]))
    kept = _wire._kept[shipped.key]
    second = _wire.unpack(_wire.run_shipped(_wire.ship(task), [2]))
    assert _wire._kept[shipped.key] is kept and len(_wire._kept) == 1
    plain = task.run([0, 1, 2], 1)
    for a, b in zip(plain, first + second, strict=True):
        assert [_bits(x) for x in a.kpis.values()] == [_bits(x) for x in b.kpis.values()]


class _Spy:
    """Counts the jobs that went to a real ProcessPool."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.jobs = 0
        original = ProcessPool.map_jobs
        spy = self

        def map_jobs(self: ProcessPool, jobs: Sequence[Job]) -> Iterator[list[RepResult]]:
            spy.jobs += len(jobs)
            return original(self, jobs)

        monkeypatch.setattr(ProcessPool, "map_jobs", map_jobs)


def _json(result: Any) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.output)
    out.pop("run_id", None)
    return out


def test_the_cli_compare_runs_on_a_pool_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(EXECUTOR_ENV, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    runner = CliRunner()
    base = ["compare", "--spec", str(STAFFING), str(ONE_MORE), "--reps", "6", "--json",
            "--home", str(tmp_path)]  # fmt: skip
    here = _json(runner.invoke(app, [*base, "--executor", "inprocess"]))
    spy = _Spy(monkeypatch)
    assert _json(runner.invoke(app, base)) == here
    assert spy.jobs >= 2  # both variants' replications went to the pool
    # the variable sets another default: no pool
    spy.jobs = 0
    monkeypatch.setenv(EXECUTOR_ENV, "inprocess")
    assert _json(runner.invoke(app, base)) == here and spy.jobs == 0
    monkeypatch.setenv(EXECUTOR_ENV, "threads")
    bad = runner.invoke(app, base)
    assert bad.exit_code == 2 and "TWINSIGHT_EXECUTOR='threads'" in bad.output


@pytest.fixture(scope="module")
def hospital_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A calibrated 60-bed hospital twin 'ward' (35 emulated days)."""
    home = tmp_path_factory.mktemp("home")
    path = home.parent / "history.csv"
    write_events(emulate_hospital(35, 4, beds=60).rows, path)
    with HospitalTwin("ward", home=home, create=True) as twin:
        twin.ingest(path)
        twin.calibrate()
    return home


def test_the_cli_forecast_runs_on_a_pool_by_default(
    hospital_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(EXECUTOR_ENV, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    runner = CliRunner()
    base = ["forecast", "ward", "--days", "1", "--reps", "40", "--json",
            "--home", str(hospital_home)]  # fmt: skip
    here = _json(runner.invoke(app, [*base, "--executor", "inprocess"]))
    spy = _Spy(monkeypatch)
    assert _json(runner.invoke(app, base)) == here
    assert spy.jobs >= 2


def _cpu(process: Any) -> float:
    try:
        return float(sum(process.cpu_times()[:2]))
    except Exception:  # gone (psutil.Error)
        return 0.0


def _parent(process: Any) -> int | None:
    try:
        return int(process.ppid())
    except Exception:  # gone (psutil.Error)
        return None


@pytest.mark.parametrize("moment", ["starting", "busy"])
def test_ctrl_c_on_the_default_pool_exits_130_stores_nothing_and_leaves_no_process(
    tmp_path: Path, moment: str
) -> None:
    """The console script with no option: Ctrl-C reaches the whole process group (as from a
    terminal) once the pool's first worker exists (``starting``: this process may still be
    waiting for the pool's start; a Ctrl-C there was once ignored, and the comparison ran to
    the end) or once its workers run replications (``busy``)."""
    psutil = pytest.importorskip("psutil")
    env = {k: v for k, v in os.environ.items() if k != EXECUTOR_ENV}
    # as from a terminal: Ctrl-C at its default (a test run started in the background, as CI
    # may be, passes SIGINT down ignored, and the child would keep ignoring it)
    code = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from twinsight._entry import main; sys.argv[0] = 'twinsight'; main()"
    )
    argv = [sys.executable, "-c", code, "compare", "--spec", str(STAFFING), str(ONE_MORE),
            "--reps", "5000", "--workers", "2", "--home", str(tmp_path), "--json"]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)  # fmt: skip
    root = psutil.Process(proc.pid)
    kids: dict[int, Any] = {}
    deadline = time.monotonic() + 180  # a generous bound on a loaded machine, not a timing
    while proc.poll() is None and time.monotonic() < deadline:
        for k in root.children(recursive=True):
            kids.setdefault(k.pid, k)
        # the workers are the server's children; busy: past their fork, running replications
        workers = [k for k in kids.values() if _parent(k) not in (proc.pid, None)]
        if moment == "starting" and workers:
            break
        busy = [k for k in workers if _cpu(k) >= 0.2]
        if len(busy) >= 2:
            break
        time.sleep(0.2)
    seen = set(kids)
    if proc.poll() is not None:  # pragma: no cover - finished first: nothing to interrupt
        pytest.skip(f"the comparison ended ({proc.returncode}) before the pool was seen busy")
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "nothing was stored" in err
    runs = tmp_path / "runs.db"
    if runs.exists():
        store = open_store(runs)
        assert list_runs(store) == []
        store.dispose()
    end = time.monotonic() + 30
    while any(psutil.pid_exists(pid) for pid in seen) and time.monotonic() < end:
        time.sleep(0.2)
    alive = [pid for pid in seen if psutil.pid_exists(pid)]
    assert not alive, f"processes left behind: {alive}"
