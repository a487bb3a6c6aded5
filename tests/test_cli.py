"""The command line: exit codes, JSON shape, and a clear message for every kind of bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twinsight.cli import app

runner = CliRunner()

#: Small run settings so that CLI tests stay fast (minutes of model time, not days).
QUICK = ["--reps", "3", "--seed", "7", "--horizon", "300", "--warmup", "30", "--quiet"]


def invoke(*args: str | Path) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def assert_bad_input(code: int, out: str, err: str, *needles: str) -> None:
    """Exit 2, nothing on stdout, no traceback, and every needle in the message."""
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    for needle in needles:
        assert needle in err, (needle, err)


# ----- validate -------------------------------------------------------------------------------


def test_validate_ok(examples_dir: Path) -> None:
    code, out, err = invoke("validate", examples_dir / "hospital.yaml", examples_dir / "mmc.yaml")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("OK ") for line in lines)
    assert "hospital-like network" in lines[0] and "4 stations" in lines[0]


def test_validate_with_override(examples_dir: Path) -> None:
    code, _, err = invoke("validate", examples_dir / "mmc.yaml", "--set", "horizon=-1")
    assert_bad_input(code, "", err, "mmc.yaml:6:10: horizon:", "--set horizon")


def test_validate_malformed_yaml(write_spec: Callable[..., Path]) -> None:
    path = write_spec("name: x\nstations: [a, b\nhorizon: 3\n")
    code, out, err = invoke("validate", path)
    assert_bad_input(code, out, err, f"{path}:3:", "malformed YAML", "check indentation")


def test_validate_unknown_field(write_spec: Callable[..., Path], minimal_text: str) -> None:
    path = write_spec(minimal_text.replace("rate: 1.5", "rate: 1.5\n    rait: 2"))
    code, out, err = invoke("validate", path)
    assert_bad_input(code, out, err, f"{path}:16:5: arrivals.0.rait:", "did you mean 'rate'")


def test_validate_negative_rate(write_spec: Callable[..., Path], minimal_text: str) -> None:
    path = write_spec(minimal_text.replace("rate: 1.5", "rate: -1.5"))
    code, out, err = invoke("validate", path)
    assert_bad_input(code, out, err, f"{path}:15:11: arrivals.0.rate:", "positive number")


def test_validate_routing_not_summing_to_one(
    write_spec: Callable[..., Path], minimal_text: str
) -> None:
    path = write_spec(
        minimal_text.replace(
            "mean: 1.0}\n", "mean: 1.0}\n    routing:\n      - {to: exit, p: 0.7}\n"
        )
    )
    code, out, err = invoke("validate", path)
    assert_bad_input(
        code, out, err, f"{path}:13:7: stations.counter.routing:", "sum to 0.7", "adjust the 'p'"
    )


def test_validate_unknown_resource(write_spec: Callable[..., Path], minimal_text: str) -> None:
    path = write_spec(minimal_text.replace("{server: 1}", "{server: 1, nurse: 1}"))
    code, out, err = invoke("validate", path)
    assert_bad_input(
        code,
        out,
        err,
        f"{path}:10:35: stations.counter.resources.nurse:",
        "unknown resource 'nurse'",
        "declare it under 'resources'",
    )


def test_validate_unsorted_schedule(write_spec: Callable[..., Path], minimal_text: str) -> None:
    path = write_spec(
        minimal_text.replace(
            "server: {capacity: 2}",
            "server:\n    schedule:\n      steps:\n"
            '        - {at: "20:00", capacity: 1}\n        - {at: "08:00", capacity: 2}',
        )
    )
    code, out, err = invoke("validate", path)
    assert_bad_input(
        code, out, err, f"{path}:9:7: resources.server.schedule:", "increasing time order", "sort"
    )


def test_validate_impossible_capacity(write_spec: Callable[..., Path], minimal_text: str) -> None:
    path = write_spec(minimal_text.replace("{server: 1}", "{server: 5}"))
    code, out, err = invoke("validate", path)
    assert_bad_input(
        code,
        out,
        err,
        f"{path}:10:25: stations.counter.resources.server:",
        "never has more than 2",
        "raise its capacity",
    )


def test_validate_lists_every_problem(write_spec: Callable[..., Path], minimal_text: str) -> None:
    text = minimal_text.replace("rate: 1.5", "rate: -1").replace("horizon: 600", "horizon: 0")
    path = write_spec(text + "colour: blue\n")
    code, out, err = invoke("validate", path)
    assert_bad_input(code, out, err, "3 problems", ":4:10: horizon", ":15:11: arrivals.0.rate")
    assert ":16:1: colour: unknown field" in err


def test_validate_missing_file(tmp_path: Path) -> None:
    code, out, err = invoke("validate", tmp_path / "nope.yaml")
    assert_bad_input(code, out, err, "nope.yaml", "no such file")


# ----- schema ---------------------------------------------------------------------------------


def test_schema_is_json_on_stdout() -> None:
    code, out, _ = invoke("schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["title"] == "Twinsight flow-network spec"
    assert "stations" in schema["properties"]


# ----- usage errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["simulate"],
        ["frobnicate"],
        ["simulate", "x.yaml", "--reps", "0"],
        ["simulate", "x.yaml", "--reps", "many"],
        ["simulate", "x.yaml", "--engine", "warp"],
        ["simulate", "x.yaml", "--seed", "-1"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    code, out, err = invoke(*args)
    assert code == 2
    assert "Traceback" not in out + err


def test_version() -> None:
    code, out, _ = invoke("--version")
    assert code == 0 and out.startswith("twinsight ")


# ----- simulate: bad input --------------------------------------------------------------------


def test_simulate_missing_file(tmp_path: Path) -> None:
    code, out, err = invoke("simulate", tmp_path / "gone.yaml", *QUICK)
    assert_bad_input(code, out, err, "gone.yaml", "no such file", "check the path")


def test_simulate_bad_spec(write_spec: Callable[..., Path], minimal_text: str) -> None:
    path = write_spec(minimal_text.replace("to: counter", "to: countr"))
    code, out, err = invoke("simulate", path, *QUICK)
    assert_bad_input(code, out, err, f"{path}:14:9: arrivals.0.to:", "unknown station 'countr'")


@pytest.mark.parametrize(
    ("override", "needles"),
    [
        ("horizon", ["--set", "needs the form path=value"]),
        ("arrivals.nobody.rate=3", ["--set", "no item named 'nobody'"]),
        ("stations.counter.service.mean=-1", ["stations.counter.service.mean", "--set"]),
        ("resources.server.capacity=zero", ["resources.server.capacity", "valid integer"]),
    ],
)
def test_simulate_bad_override(
    write_spec: Callable[..., Path], minimal_text: str, override: str, needles: list[str]
) -> None:
    path = write_spec(minimal_text)
    code, out, err = invoke("simulate", path, "--set", override, *QUICK)
    assert_bad_input(code, out, err, *needles)


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        (["--horizon", "-5"], "--horizon"),
        (["--horizon", "nan"], "--horizon"),
        (["--warmup", "-1"], "--warmup"),
        (["--horizon", "100", "--warmup", "100"], "must be shorter than the horizon"),
    ],
)
def test_simulate_bad_window(
    write_spec: Callable[..., Path], minimal_text: str, options: list[str], needle: str
) -> None:
    path = write_spec(minimal_text)
    code, out, err = invoke("simulate", path, "--reps", "2", *options)
    assert_bad_input(code, out, err, needle, "hint:")


def test_demo_unknown_example() -> None:
    code, out, err = invoke("demo", "--example", "zoo")
    assert_bad_input(code, out, err, "no bundled example 'zoo'", "hospital")


# ----- simulate: runs -------------------------------------------------------------------------


def test_simulate_json_shape(write_spec: Callable[..., Path], minimal_text: str) -> None:
    pytest.importorskip("twinsight.engines.reference", reason="reference engine not built yet")
    path = write_spec(minimal_text)
    code, out, err = invoke("simulate", path, *QUICK, "--engine", "reference", "--json")
    assert code == 0, err
    (line,) = out.strip().splitlines()  # exactly one JSON object
    data = json.loads(line)
    assert data["reps"] == 3 and data["seed"] == 7 and data["engine"] == "reference"
    kpis = data["kpis"]
    assert {"wait_mean[counter]", "utilisation[server]", "throughput"} <= set(kpis)
    for value in kpis.values():
        assert set(value) >= {"mean", "half_width"}
    assert 0.2 < kpis["utilisation[server]"]["mean"] < 1.3  # rho = 1.5 / 2 = 0.75


def test_simulate_is_reproducible_and_set_changes_it(
    write_spec: Callable[..., Path], minimal_text: str
) -> None:
    pytest.importorskip("twinsight.engines.reference", reason="reference engine not built yet")
    path = write_spec(minimal_text)
    args = ["simulate", path, *QUICK, "--engine", "reference", "--json"]
    first = json.loads(invoke(*args)[1])
    again = json.loads(invoke(*args)[1])
    more = json.loads(invoke(*args, "--set", "resources.server.capacity=4")[1])
    assert first == again
    assert more["kpis"]["wait_mean[counter]"]["mean"] < first["kpis"]["wait_mean[counter]"]["mean"]


def test_simulate_table(write_spec: Callable[..., Path], minimal_text: str) -> None:
    pytest.importorskip("twinsight.engines.reference", reason="reference engine not built yet")
    path = write_spec(minimal_text)
    code, out, err = invoke("simulate", path, *QUICK, "--engine", "reference")
    assert code == 0, err
    # the summary: a table per kind, a row per station/resource, mean over ± half-width
    for needle in ("Stations", "counter", "Resources", "server", "System", "95% confidence"):
        assert needle in out
    assert "Classes" not in out  # a single default class needs no table of its own
    assert "minutes" in out and "±" in out
    # --long: every KPI in a row of its own, grouped
    code, out, err = invoke("simulate", path, *QUICK, "--engine", "reference", "--long")
    assert code == 0, err
    for needle in ("station counter", "resource server", "class default", "system", "± 95% CI"):
        assert needle in out
    assert "wait_p90" in out and "%" in out


def test_simulate_fast_engine_json(write_spec: Callable[..., Path], minimal_text: str) -> None:
    fast = pytest.importorskip("twinsight.engines.fast", reason="fast engine not built yet")
    if not hasattr(fast, "FastEngine"):
        pytest.skip("fast engine not built yet")
    path = write_spec(minimal_text)
    code, out, err = invoke("simulate", path, *QUICK, "--engine", "fast", "--json")
    assert code == 0, err
    assert json.loads(out)["engine"] == "fast"


def test_demo_prints_the_table() -> None:
    pytest.importorskip("twinsight.engines.reference", reason="reference engine not built yet")
    code, out, err = invoke("demo", "--engine", "reference", "--reps", "2", "--quiet")
    assert code == 0, err
    assert "hospital-like network" in out
    assert "treatment" in out and "medical_bed" in out and "Classes" in out and "surgical" in out
    assert "Journeys" in out and "ed_time" in out and "time_to_bed" in out


# ----- the installed entry point --------------------------------------------------------------


def test_console_script_validate_errors_without_traceback(
    write_spec: Callable[..., Path], minimal_text: str
) -> None:
    path = write_spec(minimal_text.replace("rate: 1.5", "rate: -1"))
    proc = subprocess.run(
        [sys.executable, "-m", "twinsight.cli", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert f"{path}:15:11: arrivals.0.rate:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_summary_rounds_the_mean_to_its_half_width() -> None:
    from twinsight.cli._table import _pair

    assert _pair(0.1955, 0.03267) == ("0.196", "0.033")
    assert _pair(1644.2, 24.17) == ("1,644", "24")
    assert _pair(0.4905, 0.0066) == ("0.4905", "0.0066")
    assert _pair(5.0, 0.0) == ("5", "0")
    assert _pair(float("nan"), 1.0) == ("–", "")


def test_ctrl_c_while_the_command_line_loads_ends_quietly() -> None:
    """A Ctrl-C in the seconds the commands take to import exits 130 without a traceback."""
    import signal
    import time

    # as from a terminal: Ctrl-C at its default (a test run started in the background, as CI
    # may be, passes SIGINT down ignored, and the child would keep ignoring it)
    code = (
        "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from twinsight._entry import main; main()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--help"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.2)  # well inside the import (numpy, pandas, numba's cache, FastAPI: seconds)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:  # pragma: no cover - the imports finished first: nothing to test
        pytest.skip("the command line loaded before the signal arrived")
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
