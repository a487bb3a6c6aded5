"""``twinsight optimise NAME PROBLEM.yaml``: the cheapest decision that meets the targets.

NAME is the twin the optimisation belongs to: its model is the base when the problem says
``twin:`` (a hospital, social-services or contact-centre twin), and the finished run is
recorded in its store (``twinsight runs``). With a ``spec:`` file as the base, NAME need not
be an existing twin (the run is then not recorded). Exit codes: 0 a feasible decision was
found; 1 none is feasible (the report shows the closest decision and how far it misses each
target) or the run failed; 2 bad input; 130 interrupted (nothing stored).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..optimise import (
    Evaluation,
    OptimisationProblem,
    OptimisationResult,
    ProblemFileError,
    base_spec,
    load_problem,
    optimise,
    record_optimisation,
    spec_builder,
)
from ..scale import ScaleError, open_executor
from ..spec import FlowSpec, Problem, SpecError
from ..twin import Twin, TwinError, open_twin
from ._app import ClusterOpt, ExecutorName, ExecutorOpt, WorkersOpt, app
from ._output import EXIT_BAD_INPUT, EXIT_RUN_FAILED, fail, report_spec_error, stderr, stdout
from ._twin import DbOpt, HomeOpt, NameArg

__all__ = ["optimise_command"]

EXIT_INTERRUPTED = 130


def _report_problem_file(exc: ProblemFileError) -> None:
    stderr.print(f"[bold red]error:[/] {escape(exc.source)}: {len(exc.problems)} problem(s) "
                 "in the optimisation problem", highlight=False)  # fmt: skip
    for p in exc.problems:
        stderr.print("  " + escape(p.render(exc.source)), highlight=False)
    raise typer.Exit(EXIT_BAD_INPUT)


def _twin_spec(twin: Twin, problem: OptimisationProblem, source: str) -> FlowSpec:
    """The twin's calibrated model as a flow spec: ``days`` from an empty hospital, or from the
    present state with ``twin.present`` (a social-services twin: ``_casework_spec``)."""
    if twin.template == "social-services":
        return _casework_spec(twin, problem, source)
    if twin.template == "contact-centre":
        return _contact_spec(twin, problem, source)
    from ..assimilate import current_state
    from ..forecast._build import model_from_calibration
    from ..hospital._ops import _calibration, configured_beds

    assert problem.twin is not None
    state = current_state(twin.engine, None, recent_only=True)
    model = model_from_calibration(_calibration(twin, state.at), configured_beds(twin))
    start = state if problem.twin.present else None
    return model.spec(start, problem.twin.days, interval=24.0, name=f"hospital twin {twin.name}")


def _contact_spec(twin: Twin, problem: OptimisationProblem, source: str) -> FlowSpec:
    """A contact-centre twin's week (time unit: minutes) as its forecast runs it: ``days`` from
    the day after the calibration window, staffed by its roster (``contact.roster``) or else
    the Erlang plan, agent groups at their fixed ``agents`` unless the roster lists them.
    Decisions name fixed resources such as ``resources.group_<name>.capacity`` (how many
    multi-skilled agents on top of the plan) or settings such as ``stations.<queue>.on_wait.p``;
    targets such as ``wait_within_target[<queue>]``."""
    from ..contact._ops import _plan_agents, start_day

    assert problem.twin is not None
    if problem.twin.present:
        why = "a contact-centre twin's model has no present queue to start from: leave it out"
        raise ProblemFileError(source, [Problem("twin.present", why)])
    model, agents, _ = _plan_agents(twin, "erlang", problem.run.seed)
    return model.week_spec(agents, problem.twin.days, start_day=start_day(model))


def _casework_spec(twin: Twin, problem: OptimisationProblem, source: str) -> FlowSpec:
    """A social-services twin's calibrated model (time unit: days): ``days`` after a warm-up of
    ``run.warmup`` (default 90) days from empty, at the window's referral rates; or, with
    ``present``, ``days`` from its open cases at the referral level of the last weeks. A
    decision on a team's slots (``resources.team_<t>.capacity``) must have ``scale`` = the
    caseload, so that it counts caseworkers."""
    from ..casework import CaseworkCalibrationError, load_casework_calibration, present

    assert problem.twin is not None
    try:
        cal = load_casework_calibration(twin)
    except CaseworkCalibrationError as exc:
        raise ValueError(str(exc)) from None
    model = cal.model(recent=problem.twin.present)
    problems = []
    for name, d in problem.decisions.items():
        team = d.path.removeprefix("resources.team_").removesuffix(".capacity")
        if d.path.startswith("resources.team_") and team in model.teams:
            caseload = model.teams[team].caseload
            if d.scale != caseload:
                problems.append(Problem(f"decisions.{name}.scale", f"team {team}'s slots are "
                                        f"caseworkers x {caseload}: give 'scale: {caseload}' so "
                                        "the decision counts caseworkers"))  # fmt: skip
    if problems:
        raise ProblemFileError(source, problems)
    name = f"casework twin {twin.name}"
    days = problem.twin.days
    if problem.twin.present:
        state = present(twin)
        at = state.at
        minutes = at.hour * 60 + at.minute
        return model.spec(
            days,
            start_day=("mon", "tue", "wed", "thu", "fri", "sat", "sun")[at.weekday()],
            start_time=f"{minutes // 60:02d}:{minutes % 60:02d}",
            initial_state=state.initial_state(),
            name=name,
        )
    warmup = 90.0 if problem.run.warmup is None else problem.run.warmup
    return model.spec(days + warmup, warmup=warmup, name=name)


def _decision_text(ev: Evaluation) -> str:
    return ", ".join(f"{k}={v}" for k, v in ev.decision.items())


def _checks_table(ev: Evaluation, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("target", "mean", "one-sided bound", "reps", "verdict", "misses by"):
        left = col in ("target", "verdict")
        table.add_column(col, justify="left" if left else "right", overflow="fold")
    for c in ev.checks:
        miss = "" if c.ok else f"{c.miss:.4g}"
        table.add_row(escape(c.constraint.label()), f"{c.mean:.4g}", f"{c.bound:.4g}",
                      str(c.n), c.verdict, miss)  # fmt: skip
    return table


def _print(result: OptimisationResult) -> None:
    p = result.problem
    head = (f"{len(result.evaluations)} decisions simulated, {result.skipped} ruled out "
            f"without simulation, of {result.lattice}; seed {p.run.seed}")  # fmt: skip
    if result.best is not None:
        best = result.best
        what = "cheapest feasible decision" if result.status == "optimal" else "feasible decision"
        stdout.print(f"[bold green]{what}[/]: {escape(_decision_text(best))}"
                     f"  (cost {best.cost:g})", highlight=False)  # fmt: skip
        if result.reason:
            stdout.print(f"[yellow]note:[/] {escape(result.reason)}", highlight=False)
        stdout.print(_checks_table(best, "its targets"))
    else:
        stdout.print(f"[bold red]no feasible decision[/]: {escape(result.reason)}")
        if result.closest is not None:
            near = result.closest
            stdout.print(f"closest decision found: {escape(_decision_text(near))} "
                         f"(cost {near.cost:g})", highlight=False)  # fmt: skip
            stdout.print(_checks_table(near, "how far it misses each target"))
    stdout.print(head.replace("1 decisions", "1 decision"), style="dim", highlight=False)


def _record(
    twin: Twin | None, problem: OptimisationProblem, base: FlowSpec, result: OptimisationResult
) -> str | None:
    if twin is None:
        return None
    return record_optimisation(twin.engine, twin.name, problem, base, result)


def _run(
    problem: OptimisationProblem,
    base: FlowSpec,
    source: str,
    where: Any,
    show: bool,
) -> OptimisationResult:
    spec_for = spec_builder(problem, base, source)
    if not show:
        return optimise(problem, spec_for, executor=where)
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=stderr, transient=True) as bar:
        task = bar.add_task("candidates", total=None)

        def tick(done: int, total: int, ev: Evaluation | None) -> None:
            text = "candidates" if ev is None else f"last: {_decision_text(ev)}"
            bar.update(task, completed=done, total=total, description=escape(text))

        return optimise(problem, spec_for, executor=where, on_candidate=tick)


@app.command(name="optimise")
def optimise_command(
    name: NameArg,
    problem_path: Annotated[
        str, typer.Argument(metavar="PROBLEM.yaml", help="The optimisation problem (YAML).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    executor: ExecutorOpt = ExecutorName.default,
    cluster: ClusterOpt = None,
    workers: WorkersOpt = None,
    home: HomeOpt = None,
    db: DbOpt = None,
) -> None:
    """The cheapest integer decision (beds, staff, agents) whose KPI targets are met, by
    simulation with common random numbers; exit 1 when no decision within the bounds is
    feasible (the closest one and its misses are shown)."""
    try:
        problem = load_problem(problem_path)
    except ProblemFileError as exc:
        _report_problem_file(exc)
    twin: Twin | None = None
    try:
        twin = open_twin(name, home=home, db_url=db)
    except TwinError as exc:
        if problem.twin is not None:
            fail(str(exc), "the problem's 'twin:' base needs an existing hospital, "
                 "social-services or contact-centre twin")  # fmt: skip
    try:
        try:
            base = (
                _twin_spec(twin, problem, problem_path)
                if twin and problem.twin
                else base_spec(problem, problem_path)
            )
        except SpecError as exc:
            report_spec_error(exc)
        except ProblemFileError as exc:
            _report_problem_file(exc)
        except ValueError as exc:
            fail(f"the twin's model cannot be built: {exc}", "run 'twinsight calibrate' first")
        try:
            where_to = executor.value
            if where_to == "auto" and cluster is None:
                # a search runs many experiments: with a GIL-bound engine, one pool for all of
                # them pays; the fast engine's threads already use every core
                where_to = "inprocess" if problem.run.engine == "fast" else "processes"
            with open_executor(where_to, cluster, workers) as where:
                result = _run(problem, base, problem_path, where, stderr.is_terminal and not quiet)
        except ProblemFileError as exc:
            _report_problem_file(exc)
        except ScaleError as exc:
            fail(str(exc), "try --executor inprocess", code=EXIT_RUN_FAILED)
        except ValueError as exc:
            fail(str(exc), "check the problem's bounds and the spec")
        except KeyboardInterrupt:
            stderr.print("interrupted: nothing was stored", style="yellow")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        run_id = _record(twin, problem, base, result)
    finally:
        if twin is not None:
            twin.close()
    if as_json:
        stdout.file.write(json.dumps({"twin": name, "run_id": run_id, **result.to_json()}) + "\n")
        stdout.file.flush()
    else:
        _print(result)
        if run_id is not None:
            stdout.print(f"recorded as run {run_id} of twin '{escape(name)}'", style="dim")
        elif not quiet:
            stderr.print(
                f"not recorded: there is no twin '{escape(name)}' (create one with "
                f"'twinsight init {escape(name)}' to keep a record)",
                style="dim",
            )
    stdout.file.flush()
    if result.best is None:
        if not as_json:
            stderr.print(
                "[bold red]error:[/] no feasible decision within the bounds; widen them or "
                "relax a target (the closest decision is shown above)"
            )
        raise typer.Exit(EXIT_RUN_FAILED)
