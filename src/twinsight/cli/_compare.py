"""``twinsight compare NAME SCENARIO...`` (or ``--spec FILE SCENARIO_FILE...``): the baseline
against scenarios from the same present, with common random numbers, paired differences, one
sentence per KPI and an optional chart; every comparison is stored as a run."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..calibrate import CalibrationError
from ..decide import (
    Comparison,
    PairedTarget,
    Scenario,
    ScenarioError,
    compare_hospital,
    compare_spec,
    load_scenario,
    scenario_path,
)
from ..decide._chart import chart_html
from ..decide._scenario import SCENARIOS_DIR, close_names
from ..spec import SpecError, load_spec
from ..store import open_store
from ..twin import Twin, open_twin, twin_home
from ._app import ClusterOpt, ExecutorName, ExecutorOpt, WorkersOpt, app
from ._outbreak import DeterministicOpt
from ._output import EXIT_RUN_FAILED, fail, parse_instant, report_spec_error, stderr, stdout
from ._scenario import report_scenario_error
from ._twin import DbOpt, HomeOpt, _errors, _open
from ._where import run_on

__all__ = ["SPEC_RUNS", "compare_cmd"]

#: The store of comparisons of plain flow specs (no twin): ``<home>/runs.db``.
SPEC_RUNS = "runs.db"


@contextmanager
def _bar(show: bool) -> Iterator[Callable[[int, int], None] | None]:
    if not show:
        yield None
        return
    columns = (
        TextColumn("replications per variant"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=stderr, transient=True) as bar:
        task = bar.add_task("compare", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield progress


def _scenario(twin: Twin | None, arg: str) -> Scenario:
    """A stored scenario of the twin by name, else a scenario file."""
    if twin is not None:
        stored = scenario_path(twin.path, arg)
        if stored.is_file():
            return load_scenario(stored)
    if Path(arg).is_file():
        return load_scenario(arg)
    if twin is None:
        fail(f"no scenario file '{arg}'", "give the path of a scenario YAML file")
    names = sorted(p.stem for p in (twin.path / SCENARIOS_DIR).glob("*.yaml"))
    where = close_names(arg, names) if names else " (it has none: 'twinsight scenario ... add')"
    fail(f"twin '{twin.name}' has no scenario '{arg}' and there is no such file{where}")


def _print(out: dict[str, Any], title: str, run_id: str | None) -> None:
    stdout.print(title, highlight=False)
    for sc in out["scenarios"]:
        name = sc["name"]
        table = Table(title=f"{name}: {sc['description']}", title_justify="left")
        for col in ("KPI", "baseline", name, "change", "95% CI"):
            table.add_column(col, justify="left" if col == "KPI" else "right")
        for row in out["kpis"]:
            e = row["scenarios"][name]
            share = row["unit"] == "%"
            f = 100.0 if share else 1.0

            def num(x: float | None, f: float = f) -> str:
                return "n/a" if x is None else f"{f * x:.3g}"

            label = row["label"] + (" (%)" if share else f" ({row['unit']})")
            d = e["difference"]
            table.add_row(
                escape(label),
                num(row["baseline"]["mean"]),
                num(e["mean"]),
                num(d["mean"]),
                f"{num(d['low'])} to {num(d['high'])}",
            )
        stdout.print(table)
        for row in out["kpis"]:
            stdout.print("  " + escape(row["scenarios"][name]["sentence"]), highlight=False)
    if out.get("precision_met") is False:
        stdout.print("the precision targets were not met within --max-reps", style="yellow")
    if run_id:
        stdout.print(f"run {run_id} (twinsight rerun {run_id})", style="dim", highlight=False)


@app.command("compare")
def compare_cmd(
    args: Annotated[
        list[str],
        typer.Argument(
            help="The twin's name then scenarios (stored names or files); with --spec, "
            "scenario files only.",
            show_default=False,
        ),
    ],
    spec: Annotated[
        Path | None,
        typer.Option(
            "--spec", help="Compare on a flow spec file instead of a twin.", show_default=False
        ),
    ] = None,
    days: Annotated[
        float | None,
        typer.Option(
            "--days",
            "-d",
            help="Days ahead (twin): 1-14 [7]; an outbreak twin 1-180 [28].",
            show_default=False,
        ),
    ] = None,
    reps: Annotated[
        int | None,
        typer.Option(
            "--reps",
            help="Replications per variant (the pilot with --precision); "
            "default 200 on a twin, 20 on a spec.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Random seed.")] = 1,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help="From this instant (default: the latest event).", show_default=False
        ),
    ] = None,
    precision: Annotated[
        list[str] | None,
        typer.Option(
            "--precision",
            help="Add replications until a paired difference's "
            "half-width is at most this: KPI=0.5, KPI=5% (of the baseline) or all=5%.",
            show_default=False,
        ),
    ] = None,
    max_reps: Annotated[int, typer.Option("--max-reps", help="At most this many.")] = 5000,
    kpi: Annotated[
        list[str] | None,
        typer.Option(
            "--kpi", help="KPIs to compare on a spec (engine KPI names).", show_default=False
        ),
    ] = None,
    chart: Annotated[
        Path | None,
        typer.Option(
            "--chart",
            help="Write an HTML page with a chart of the differences.",
            show_default=False,
        ),
    ] = None,
    uncertainty: Annotated[
        bool,
        typer.Option(
            "--parameter-uncertainty",
            help="Also draw the calibration's uncertainty (arrival level, mean stays) per "
            "replication, the same draw in every variant (about 4x slower).",
        ),
    ] = False,
    deterministic: DeterministicOpt = False,
    executor: ExecutorOpt = ExecutorName.default,
    cluster: ClusterOpt = None,
    workers: WorkersOpt = None,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Baseline against scenarios from the same present with common random numbers: each KPI's
    paired difference with its confidence interval and a sentence; stored as a run (the
    executor is not: every executor gives the same numbers)."""
    if spec is None and len(args) < 2:
        fail(
            "give a twin's name and at least one scenario",
            "twinsight compare NAME SCENARIO... (or --spec FILE SCENARIO_FILE...)",
        )
    if spec is not None and not args:
        fail("give at least one scenario file", "twinsight compare --spec FILE SCENARIO_FILE...")
    from ._outbreak import is_outbreak  # an outbreak twin compares 1-180 days: cli/_outbreak.py

    outbreak = spec is None and is_outbreak(args[0], home)
    if deterministic and not outbreak:
        fail("--deterministic: only an outbreak twin has a deterministic mode", "leave it out")
    if days is not None and not 1 <= days <= 14 and not outbreak:
        fail(f"--days: {days:g} is outside 1-14", "compare between 1 and 14 days ahead")
    if reps is not None and reps < 2:
        fail(f"--reps: {reps} is too few for a paired interval", "use at least 2")
    try:
        targets = [PairedTarget.parse(t) for t in precision or []]
    except ValueError as exc:
        fail(f"--precision: {exc}")
    instant = parse_instant(at, "--at") if at is not None else None
    where = _Where(executor.value, cluster, workers)
    try:
        if spec is not None:
            comp, run_id, title = _on_spec(
                spec, args, reps or 20, seed, kpi or [], targets, max_reps, home, db, as_json,
                where,
            )  # fmt: skip
        else:
            comp, run_id, title = _on_twin(
                args,
                days,
                reps or 200,
                seed,
                instant,
                targets,
                max_reps,
                home,
                db,
                as_json,
                uncertainty,
                where,
                deterministic,
            )
    except KeyboardInterrupt:
        fail("interrupted: nothing was stored", code=130)
    out = comp.to_json()
    if chart is not None:
        try:
            chart.write_text(chart_html(out, title), encoding="utf-8")
        except OSError as exc:
            fail(f"--chart: cannot write {chart} ({exc.strerror})", code=EXIT_RUN_FAILED)
    if as_json:
        stdout.file.write(json.dumps({"run_id": run_id, **out}, allow_nan=False) + "\n")
    else:
        _print(out, title, run_id)


@dataclass(frozen=True)
class _Where:
    """``--executor``, ``--cluster``, ``--workers`` (opened by ``run_on`` once the inputs are
    checked, so a bad scenario does not wait for a cluster to start)."""

    executor: str = "auto"
    cluster: str | None = None
    workers: int | None = None


def _on_spec(
    path: Path,
    files: list[str],
    reps: int,
    seed: int,
    kpis: list[str],
    targets: list[PairedTarget],
    max_reps: int,
    home: Path | None,
    db: str | None,
    quiet: bool,
    where: _Where = _Where(),
) -> tuple[Comparison, str | None, str]:
    try:
        flow = load_spec(path)
    except SpecError as exc:
        report_spec_error(exc)
    try:
        scenarios = [_scenario(None, f) for f in files]
    except SpecError as exc:
        report_scenario_error(exc)
    store = open_store(db or twin_home(home) / SPEC_RUNS)
    try:
        with (
            run_on(where.executor, where.cluster, where.workers) as executor,
            _bar(not quiet and stderr.is_terminal) as progress,
        ):
            comp, run_id = compare_spec(
                flow,
                scenarios,
                reps=reps,
                seed=seed,
                kpis=kpis,
                targets=targets,
                max_reps=max_reps,
                progress=progress,
                store=store,
                executor=executor,
                workers=where.workers,
            )
    except (ScenarioError, ValueError) as exc:
        fail(str(exc))
    finally:
        store.dispose()
    title = (
        f"spec '{flow.name}' ({path}): baseline against {len(scenarios)} scenario(s), "
        f"{comp.reps} replications each, seed {seed}"
    )
    return comp, run_id, title


def _on_twin(
    args: list[str],
    days: float | None,
    reps: int,
    seed: int,
    instant: Any,
    targets: list[PairedTarget],
    max_reps: int,
    home: Path | None,
    db: str | None,
    quiet: bool,
    uncertainty: bool = False,
    where: _Where = _Where(),
    deterministic: bool = False,
) -> tuple[Comparison, str | None, str]:
    name = args[0]
    from ._outbreak import is_outbreak, outbreak_compare  # an outbreak: cli/_outbreak.py

    if is_outbreak(name, home):  # its own default horizon, 28 days
        to = (where.executor, where.cluster, where.workers)
        return outbreak_compare(args, days, reps, seed, instant, home, db, deterministic, to)
    days = 7 if days is None else days
    from ._contact import contact_compare, is_contact  # a contact-centre twin: cli/_contact.py

    if is_contact(name, home):
        to = (where.executor, where.cluster, where.workers)
        return contact_compare(args, days, reps, seed, targets, max_reps, home, db, quiet, to)
    from ._casework import casework_compare, is_casework  # social services: cli/_casework.py

    if is_casework(name, home):
        to = (where.executor, where.cluster, where.workers)
        return casework_compare(args, reps, seed, [], targets, max_reps, home, db, quiet, to)
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    try:
        if twin.template != "hospital":
            fail(
                f"twin '{name}' is a {twin.template} twin; compare works on hospital twins",
                "for a flow spec use: twinsight compare --spec FILE SCENARIO_FILE...",
            )
        with _errors(db):
            try:
                scenarios = [_scenario(twin, a) for a in args[1:]]
            except SpecError as exc:
                report_scenario_error(exc)
            if not quiet:
                stderr.print(
                    "simulating (the first run in a process compiles the engine, ~1 min)...",
                    style="dim",
                )
            try:
                with (
                    run_on(where.executor, where.cluster, where.workers) as executor,
                    _bar(not quiet and stderr.is_terminal) as progress,
                ):
                    comp, run_id = compare_hospital(
                        twin,
                        scenarios,
                        days=days,
                        reps=reps,
                        seed=seed,
                        at=instant,
                        targets=targets,
                        max_reps=max_reps,
                        progress=progress,
                        parameter_uncertainty=uncertainty,
                        executor=executor,
                        workers=where.workers,
                    )
            except (CalibrationError, ScenarioError, ValueError) as exc:
                fail(str(exc))
    finally:
        twin.close()
    title = (
        f"twin '{name}': baseline against {len(scenarios)} scenario(s) over {days:g} "
        f"days, {comp.reps} replications each, seed {seed}, common random numbers"
    )
    return comp, run_id, title
