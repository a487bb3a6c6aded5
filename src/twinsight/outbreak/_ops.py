"""The outbreak twin's operations on an opened twin: ingest, calibrate, forecast, CHIME, link.

One place for what the CLI, the HTTP service and notebooks do. The settings live in the
twin's ``twin.yaml`` under ``outbreak:`` (``OutbreakConfig``; ``population`` is required) and,
for the CHIME mode, under ``chime:`` (``ChimeParams``). The calibration is saved as
``<twin>/outbreak_calibration.json``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..scale import Executor
from ..twin import Twin
from ._calibrate import OutbreakCalibration, OutbreakCalibrationError, calibrate_outbreak
from ._chime import Chime, chime, params_from_mapping
from ._forecast import OutbreakForecast, forecast_outbreak
from ._ingest import OutbreakIngestReport, counts_watermark, ingest_counts, load_counts
from ._link import AdmissionArrivals, admissions_to_arrivals
from ._runs import record_outbreak_compare, record_outbreak_forecast
from ._scenarios import Mode, OutbreakComparison, compare_outbreak, parse_outbreak_scenario
from ._template import OutbreakConfig

__all__ = [
    "CALIBRATION_FILE",
    "OutbreakConfigError",
    "current_calibration",
    "hospital_arrivals",
    "ingest",
    "load_outbreak_calibration",
    "outbreak_config",
    "run_calibration",
    "run_chime",
    "run_compare",
    "run_forecast",
    "save_outbreak_calibration",
]

CALIBRATION_FILE = "outbreak_calibration.json"
_EXAMPLE = "outbreak: {population: 1000000}"


class OutbreakConfigError(ValueError):
    """``twin.yaml``'s ``outbreak:`` (or ``chime:``) section is missing or wrong: the message
    names the file and field, ``hint`` says the fix."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _section(twin: Twin, name: str) -> tuple[Path, Any]:
    path = twin.path / "twin.yaml"
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise OutbreakConfigError(f"{path}: cannot read ({exc})", "restore the file") from None
    return path, config.get(name) if isinstance(config, dict) else None


def _problem(path: Path, section: str, exc: ValidationError) -> OutbreakConfigError:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in (section, *err["loc"]))
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return OutbreakConfigError(
        f"{path}: {where}: {err['msg']}{more}",
        f"fix '{where}' in the file (see docs/outbreak.md for every setting)",
    )


def outbreak_config(twin: Twin) -> OutbreakConfig:
    """The twin's ``outbreak:`` settings, validated."""
    path, section = _section(twin, "outbreak")
    if section is None:
        raise OutbreakConfigError(
            f"{path}: no 'outbreak:' section: the model needs at least the population",
            f"add a line '{_EXAMPLE}' (or copy examples/outbreak/twin.yaml's section)",
        )
    try:
        return OutbreakConfig.model_validate(section)
    except ValidationError as exc:
        raise _problem(path, "outbreak", exc) from None


def ingest(twin: Twin, paths: Sequence[Path]) -> list[OutbreakIngestReport]:
    """Store the daily counts of each CSV file, in order (``ingest_counts``)."""
    return [ingest_counts(p, twin.engine) for p in paths]


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_outbreak_calibration(folder: Path, cal: OutbreakCalibration) -> Path:
    """Write ``cal`` to ``<folder>/outbreak_calibration.json`` (atomically); the path."""
    path = Path(folder) / CALIBRATION_FILE
    _atomic_write(path, json.dumps(cal.to_dict(), indent=1, allow_nan=False) + "\n")
    return path


def load_outbreak_calibration(folder: Path) -> OutbreakCalibration:
    """The twin's saved outbreak calibration."""
    path = Path(folder) / CALIBRATION_FILE
    try:
        return OutbreakCalibration.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise OutbreakCalibrationError(
            f"{path}: no calibration yet: run 'twinsight calibrate NAME' first"
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise OutbreakCalibrationError(f"{path}: unreadable ({exc}): calibrate again") from None


def run_calibration(
    twin: Twin, *, until: date | None = None, save: bool = True
) -> OutbreakCalibration:
    """Calibrate to the stored counts up to ``until`` (default: the last); saved unless
    ``save`` is False."""
    config = outbreak_config(twin)
    ingest_id, received = counts_watermark(twin.engine)  # then only the counts up to it
    cal = calibrate_outbreak(load_counts(twin.engine, ingest_id=ingest_id), config, until=until)
    cal.ingest_id = ingest_id
    cal.data_received = None if received is None else received.isoformat()
    if save:
        save_outbreak_calibration(twin.path, cal)
    return cal


def run_forecast(
    twin: Twin,
    days: int = 28,
    *,
    runs: int = 1000,
    seed: int = 1,
    at: date | None = None,
    record: bool = True,
    reuse: bool = False,
    mode: Mode = "stochastic",
    executor: Executor | str | None = None,
) -> OutbreakForecast:
    """Forecast ``days`` days from the saved calibration (or a fresh one to ``at`` when
    there is none, or it is older or newer than ``at``); stored as a run (``_runs.py``; its
    id in ``run_id``) unless ``record`` is False; ``reuse``: answered with the same run stored
    before, if any (an idempotent GET); ``mode``: the binomial chain or the model's equations
    (``_forecast.py``); ``executor``: where its blocks of runs go (not recorded)."""
    cal = current_calibration(twin, at)
    fc = forecast_outbreak(cal, days, runs=runs, seed=seed, mode=mode, executor=executor)
    if record:
        fc.run_id = record_outbreak_forecast(twin.engine, twin.name, cal, fc, reuse=reuse)
    return fc


def current_calibration(twin: Twin, at: date | None = None) -> OutbreakCalibration:
    """The saved calibration, or a fresh one to ``at`` when there is none, or it is older or
    newer than ``at``, or the settings changed (other than the capacity)."""
    config = outbreak_config(twin)
    cal: OutbreakCalibration | None = None
    try:
        cal = load_outbreak_calibration(twin.path)
    except OutbreakCalibrationError:
        cal = None
    # the capacity does not change the fit: a saved calibration stays valid when only it moved
    if cal is not None and (
        cal.config.model_copy(update={"capacity": None})
        != config.model_copy(update={"capacity": None})
        or (at is not None and cal.watermark != at)
    ):
        cal = None
    if cal is None:
        cal = run_calibration(twin, until=at, save=False)
    return replace(cal, config=config)


def run_compare(
    twin: Twin,
    scenarios: Sequence[str],
    days: int = 60,
    *,
    reps: int = 200,
    seed: int = 1,
    mode: Mode = "stochastic",
    at: date | None = None,
    record: bool = True,
    executor: Executor | str | None = None,
) -> OutbreakComparison:
    """``twinsight compare NAME SCENARIO...`` on an outbreak twin: each scenario (a stored
    name in the twin's ``scenarios/``, a YAML file or ``NAME=30%@10``) against the baseline
    with common random numbers (``_scenarios.py``); stored as a run (its id in ``run_id``)
    unless ``record`` is False; ``executor``: where its blocks of runs go (not recorded)."""
    parsed = [parse_outbreak_scenario(a, twin.path / "scenarios") for a in scenarios]
    cal = current_calibration(twin, at)
    comp = compare_outbreak(cal, parsed, days=days, reps=reps, seed=seed, mode=mode,
                            executor=executor)  # fmt: skip
    if record:
        comp.run_id = record_outbreak_compare(twin.engine, twin.name, cal, parsed, comp)
    return comp


def hospital_arrivals(
    twin: Twin,
    days: int = 7,
    *,
    runs: int = 1000,
    seed: int = 1,
    statistic: str = "mean",
    hour_shares: Sequence[float] | None = None,
) -> AdmissionArrivals:
    """The outbreak's forecast admissions as hourly arrival rates for the hospital twin
    (``statistic``: ``mean`` or a band column such as ``p50`` or ``p95`` for a bad case)."""
    fc = run_forecast(twin, days, runs=runs, seed=seed, record=False)
    daily = fc.metric("admissions")[statistic].to_numpy()
    return admissions_to_arrivals(daily, fc.first_day, hour_shares)


def run_chime(twin: Twin) -> Chime:
    """The CHIME projection from the twin's ``chime:`` section."""
    path, section = _section(twin, "chime")
    if not isinstance(section, dict):
        raise OutbreakConfigError(
            f"{path}: no 'chime:' section",
            "add CHIME's inputs under 'chime:' (see examples/outbreak/twin.yaml)",
        )
    try:
        return chime(params_from_mapping(section))
    except (TypeError, KeyError, ValueError) as exc:
        raise OutbreakConfigError(f"{path}: chime: {exc}", "see docs/outbreak.md") from None
