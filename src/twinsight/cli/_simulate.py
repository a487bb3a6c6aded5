"""Run an experiment for the CLI: load and check inputs, show progress, print the results."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..experiment import (
    ExperimentResult,
    PrecisionTarget,
    run_experiment,
    run_to_precision,
    suggest_warmup,
)
from ..scale import Executor, ScaleError, open_executor
from ..spec import FlowSpec, SpecError, load_spec
from ._output import EXIT_RUN_FAILED, fail, report_spec_error, stderr, stdout
from ._table import kpi_summary, kpi_table

__all__ = ["load_or_exit", "resolve_warmup", "simulate"]


def load_or_exit(path: Path, overrides: Sequence[str] = ()) -> FlowSpec:
    """Load and validate a spec, or print every problem and exit 2."""
    try:
        return load_spec(path, overrides)
    except SpecError as exc:
        report_spec_error(exc)


def resolve_warmup(
    spec: FlowSpec,
    text: str | None,
    engine: str,
    seed: int,
    horizon: float | None,
    quiet: bool,
) -> float | None:
    """``--warmup``: None (the spec's), a number, or ``auto`` (MSER-5 on pilot runs)."""
    if text is None:
        return None
    if text.strip().lower() == "auto":
        try:
            value = suggest_warmup(spec, engine=engine, seed=seed, horizon=horizon)
        except ValueError as exc:
            fail(f"--warmup auto: {exc}", "give the warm-up as a number instead")
        if not quiet:
            stderr.print(f"warm-up by MSER-5 on pilot runs: {value:g} {spec.time_unit.value}")
        return value
    try:
        return float(text)
    except ValueError:
        fail(
            f"--warmup {text!r} is not a number", "give a duration in the spec's time_unit, or auto"
        )


def _check_window(spec: FlowSpec, horizon: float | None, warmup: float | None) -> None:
    h = spec.horizon if horizon is None else horizon
    w = spec.warmup if warmup is None else warmup
    if not math.isfinite(h) or h <= 0:
        fail(
            f"--horizon {h:g} must be a positive number of {spec.time_unit.value}",
            "e.g. --horizon 1000",
        )
    if not math.isfinite(w) or w < 0:
        fail(f"--warmup {w:g} cannot be negative", "use --warmup 0 for no warm-up")
    if w >= h:
        source = "--warmup" if warmup is not None else "the spec's warmup"
        fail(
            f"{source} ({w:g}) must be shorter than the horizon ({h:g} {spec.time_unit.value})",
            "lower --warmup or raise --horizon",
        )


def _run_precise(
    spec: FlowSpec,
    precision: str,
    pilot: int,
    max_reps: int,
    seed: int,
    engine: str,
    horizon: float | None,
    warmup: float | None,
    quiet: bool,
    executor: Executor | str,
) -> ExperimentResult:
    try:
        target = PrecisionTarget.parse(precision)
        result, met = run_to_precision(
            spec,
            target,
            pilot_reps=max(pilot, 2),
            max_reps=max_reps,
            seed=seed,
            engine=engine,
            horizon=horizon,
            warmup=warmup,
            executor=executor,
        )
    except ValueError as exc:
        fail(str(exc), "check --precision KPI=HALF_WIDTH (a KPI name from the table)")
    if not quiet:
        iv = result.interval(target.kpi)
        verdict = "reached" if met else f"NOT reached within --max-reps {max_reps}"
        stderr.print(
            f"precision {verdict}: {escape(target.kpi)} = {iv.mean:.4g} ± {iv.half_width:.3g} "
            f"after {result.reps} replications",
            highlight=False,
        )
    return result


def _run(
    spec: FlowSpec,
    reps: int,
    seed: int,
    engine: str,
    horizon: float | None,
    warmup: float | None,
    show_progress: bool,
    executor: Executor | str | None = None,
) -> ExperimentResult:
    try:
        if not show_progress:
            return run_experiment(
                spec, reps, seed, engine, horizon=horizon, warmup=warmup, executor=executor
            )
        columns = (
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=stderr, transient=True) as bar:
            task = bar.add_task(f"{engine}: replications", total=reps)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            # at least one replication per core in each chunk, so the fast engine's threads
            # stay busy; about 50 updates of the bar on long runs
            chunk = max(os.cpu_count() or 1, min(64, math.ceil(reps / 50)))
            return run_experiment(
                spec,
                reps,
                seed,
                engine,
                horizon=horizon,
                warmup=warmup,
                progress=progress,
                chunk=None if executor not in (None, "auto", "inprocess") else chunk,
                executor=executor,
            )
    except ImportError as exc:
        other = "reference" if engine == "fast" else "fast"
        fail(
            f"engine '{engine}' is not available ({exc})",
            f"try --engine {other}",
            code=EXIT_RUN_FAILED,
        )
    except ValueError as exc:
        fail(str(exc), "check --reps, --horizon, --warmup and the spec")


def _fast_engine_compiled() -> bool:
    from ..engines.fast import is_compiled

    return is_compiled()


def simulate(
    spec: FlowSpec,
    *,
    reps: int,
    seed: int,
    engine: str,
    horizon: float | None = None,
    warmup: float | None = None,
    as_json: bool = False,
    quiet: bool = False,
    precision: str | None = None,
    max_reps: int = 1000,
    long: bool = False,
    executor: str = "inprocess",
    cluster: str | None = None,
    workers: int | None = None,
) -> ExperimentResult:
    """Run ``reps`` replications and print the KPI table (or one JSON object with ``as_json``).

    The table is the compact summary, or every KPI in a row with ``long``. With ``precision``
    (``KPI=half-width`` or ``KPI=5%``), ``reps`` is the pilot and more
    replications run until the KPI's interval is that narrow (at most ``max_reps``).
    A progress bar appears on stderr when it is a terminal and ``quiet`` is not set.
    ``executor``/``cluster``/``workers``: where the replications run (``twinsight.scale``).
    """
    _check_window(spec, horizon, warmup)
    show = stderr.is_terminal and not quiet
    if engine == "fast" and not quiet and not _fast_engine_compiled():
        stderr.print("compiling the fast engine with numba (first use only, under a minute)...")
    if precision is None:
        try:
            with open_executor(executor, cluster, workers) as where:
                result = _run(spec, reps, seed, engine, horizon, warmup, show, where)
        except ScaleError as exc:
            fail(str(exc), "try --executor inprocess", code=EXIT_RUN_FAILED)
    else:
        try:
            with open_executor(executor, cluster, workers) as where:
                result = _run_precise(
                    spec, precision, reps, max_reps, seed, engine, horizon, warmup, quiet, where
                )
        except ScaleError as exc:
            fail(str(exc), "try --executor inprocess", code=EXIT_RUN_FAILED)
    if as_json:
        stdout.file.write(json.dumps(result.to_json()) + "\n")
        stdout.file.flush()
    else:
        stdout.print(kpi_table(result, spec) if long else kpi_summary(result, spec))
    return result
