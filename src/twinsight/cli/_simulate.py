"""Run an experiment for the CLI: load and check inputs, show progress, print the results."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..experiment import ExperimentResult, run_experiment
from ..spec import FlowSpec, SpecError, load_spec
from ._output import EXIT_RUN_FAILED, fail, report_spec_error, stderr, stdout
from ._table import kpi_table

__all__ = ["load_or_exit", "simulate"]


def load_or_exit(path: Path, overrides: Sequence[str] = ()) -> FlowSpec:
    """Load and validate a spec, or print every problem and exit 2."""
    try:
        return load_spec(path, overrides)
    except SpecError as exc:
        report_spec_error(exc)


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


def _run(
    spec: FlowSpec,
    reps: int,
    seed: int,
    engine: str,
    horizon: float | None,
    warmup: float | None,
    show_progress: bool,
) -> ExperimentResult:
    try:
        if not show_progress:
            return run_experiment(spec, reps, seed, engine, horizon=horizon, warmup=warmup)
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

            chunk = max(1, min(64, math.ceil(reps / 50)))
            return run_experiment(
                spec,
                reps,
                seed,
                engine,
                horizon=horizon,
                warmup=warmup,
                progress=progress,
                chunk=chunk,
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
) -> ExperimentResult:
    """Run ``reps`` replications and print the KPI table (or one JSON object with ``as_json``).

    A progress bar appears on stderr when it is a terminal and ``quiet`` is not set.
    """
    _check_window(spec, horizon, warmup)
    show = stderr.is_terminal and not quiet
    if engine == "fast" and not quiet and not _fast_engine_compiled():
        stderr.print("compiling the fast engine with numba (first use only, about 30 s)...")
    result = _run(spec, reps, seed, engine, horizon, warmup, show)
    if as_json:
        stdout.file.write(json.dumps(result.to_json()) + "\n")
        stdout.file.flush()
    else:
        stdout.print(kpi_table(result, spec))
    return result
