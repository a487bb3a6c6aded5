"""The social-services twin on the command line: ``ingest``, ``calibrate`` and ``forecast``
dispatch here for a twin made with ``--template social-services``; ``twinsight emulate
social-services`` writes an emulated department's case events; ``twinsight casework spec``
writes the calibrated model as a flow spec (for ``compare --spec`` and ``optimise``) and
``twinsight casework equity`` prints KPIs by district, priority and team with small cells
suppressed. The work is in ``twinsight.casework``; these functions parse, call and print."""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from ..casework import (
    TEMPLATE,
    CaseDefects,
    CaseIngestError,
    CaseworkCalibrationError,
    CaseworkConfigError,
    emulate_casework,
    equity_table,
    export_spec,
    ingest,
    load_casework_calibration,
    run_backtest,
    run_calibration,
    run_forecast,
    write_case_events,
)
from ..experiment import run_experiment
from ..govern import DEFAULT_K, protect_breakdown, protect_json, suppress
from ..twin import Twin, open_twin, twin_template
from ._app import app
from ._emulate import emulate_app
from ._output import fail, parse_instant, print_ingest_reports, stderr, stdout
from ._twin import DbOpt, HomeOpt, NameArg, _errors, _open

__all__ = [
    "casework_backtest",
    "casework_calibrate",
    "casework_compare",
    "casework_forecast",
    "casework_ingest",
    "casework_kpis",
    "casework_state",
    "is_casework",
]

#: The longest casework forecast, days.
MAX_DAYS = 180
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
casework_app = typer.Typer(
    help="The social-services twin: its model as a flow spec, and equity.", no_args_is_help=True
)
app.add_typer(casework_app, name="casework")
_EXPECTED = (CaseworkConfigError, CaseIngestError, CaseworkCalibrationError, ValueError)


def is_casework(name: str, home: Path | None) -> bool:
    """Whether twin ``name`` was made from this template (its twin.yaml alone; any problem reads
    as no, and the usual command reports it)."""
    return twin_template(name, home) == TEMPLATE


def _fail_on(exc: Exception) -> NoReturn:
    if isinstance(exc, CaseworkConfigError):
        fail(str(exc), exc.hint)
    if isinstance(exc, CaseIngestError):
        fail(str(exc), "see examples/casework/case_events.csv for the columns")
    fail(str(exc))


def casework_ingest(twin: Twin, files: list[Path], db: str | None, as_json: bool) -> None:
    """``twinsight ingest`` on a social-services twin: case event files (CSV, Parquet)."""
    try:
        with _errors(db):
            try:
                reports = ingest(twin, files)
            except _EXPECTED as exc:
                _fail_on(exc)
    finally:
        twin.close()
    print_ingest_reports(twin.name, reports, as_json)


def _observed(observed: dict[str, Any], k: int = DEFAULT_K) -> dict[str, Any]:
    """The calibration's observed KPIs with person counts suppressed below ``k`` (and the
    rates of a suppressed group left out)."""
    out: dict[str, Any] = {}
    people = {key: int(r["decisions"]) for key, r in observed.items() if "decisions" in r}
    protected = protect_breakdown(people, "all", k)  # "all" and its breakdowns: secondary too
    for key, row in observed.items():
        if "decisions" in row:
            shown = protected[key]
            small = isinstance(shown, str)
            out[key] = {
                "decisions": shown,
                "time_to_decision": None if small else _num(row["time_to_decision"]),
                "within_deadline": None if small else _num(row["within_deadline"]),
            }
        else:
            out[key] = {"cases": suppress(int(row["cases"]), k)}
    return out


def _num(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)


def casework_calibrate(
    twin: Twin, until: datetime | None, window_days: float | None, db: str | None, as_json: bool
) -> None:
    """``twinsight calibrate`` on a social-services twin: fit to the stored events and save."""
    try:
        with _errors(db):
            try:
                cal = run_calibration(twin, until=until, window_days=window_days)
            except _EXPECTED as exc:
                _fail_on(exc)
            except OSError as exc:
                fail(f"{twin.path}: cannot save the calibration ({exc})", "check the folder")
    finally:
        twin.close()
    if as_json:
        out = cal.to_dict()
        out["observed"] = _observed(cal.observed_)
        out.pop("n_cases")
        stdout.file.write(json.dumps({"twin": twin.name, **out}, default=_num) + "\n")
        return
    stdout.file.write(cal.report())
    table = Table(title="observed in the window (decisions < 5 suppressed)", title_justify="left")
    for col in ("group", "decisions", "days to decision", "within deadline"):
        table.add_column(col, justify="left" if col == "group" else "right")
    for key, row in _observed(cal.observed_).items():
        if "decisions" in row:
            table.add_row(key, str(row["decisions"]), _fmt(row["time_to_decision"], False),
                          _fmt(row["within_deadline"], True))  # fmt: skip
    stdout.print(table)
    stdout.print(f"saved {escape(str(twin.path / 'casework_calibration.json'))}", highlight=False)


def _fmt(x: float | None, share: bool) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{100 * x:.1f}%" if share else f"{x:.1f}"


def _band(row: Any, share: bool = False) -> str:
    f = 100.0 if share else 1.0
    if not math.isfinite(row["p50"]):
        return "-"
    unit = "%" if share else ""
    return f"{f * row['p50']:.0f}{unit} [{f * row['p5']:.0f}-{f * row['p95']:.0f}]"


def _workers(values: list[str] | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for text in values or []:
        team, sep, n = text.partition("=")
        if not sep or not n.strip().isdigit() or int(n) < 1:
            fail(f"--workers '{text}': write TEAM=N with N >= 1", "e.g. --workers alpha=8")
        out[team.strip()] = int(n)
    return out


def casework_forecast(
    name: str,
    days: float,
    reps: int,
    seed: int,
    at: datetime | None,
    home: Path | None,
    db: str | None,
    as_json: bool,
    where: tuple[str, str | None, int | None] = ("auto", None, None),
) -> None:
    """``twinsight forecast`` on a social-services twin: backlog and cases waiting for a slot
    per day (median and 90% band), decisions and the share within the deadline. The
    replications run on ``where`` (executor, cluster, workers: the same numbers on each)."""
    from ._where import run_on

    if not (math.isfinite(days) and 1 <= days <= MAX_DAYS):
        fail(f"--days: {days:g} is outside 1-{MAX_DAYS}", "a casework forecast runs 1-180 days")
    if reps < 10:
        fail(f"--reps: {reps} is too few for 90% bands", "use at least 10")
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    try:
        with _errors(db):
            try:
                if not as_json:
                    stderr.print("simulating (the first run in a process compiles the engine, "
                                 "~1 min)...", style="dim")  # fmt: skip
                with run_on(*where) as executor:
                    on = None if executor == "auto" else executor  # auto: here, group by group
                    fc = run_forecast(twin, days, reps=min(reps, 2000), seed=seed, at=at,
                                      executor=on)  # fmt: skip
            except _EXPECTED as exc:
                _fail_on(exc)
            except KeyboardInterrupt:
                fail("interrupted: nothing was stored", code=130)
    finally:
        twin.close()
    out = fc.to_dict()
    out["run_id"] = fc.run_id
    out["open_cases"] = suppress(out["open_cases"])
    out["open_past_deadline"] = suppress(out["open_past_deadline"])
    if as_json:
        stdout.file.write(json.dumps({"twin": name, **out}, default=_num) + "\n")
        return
    table = Table(
        title=f"social-services twin '{name}': {fc.reps} runs from {fc.at:%Y-%m-%d %H:%M} UTC; "
        f"{out['open_cases']} open cases, {out['open_past_deadline']} past the deadline now; "
        "median [90% band]",
        title_justify="left",
    )
    for col in ("day", "date", "open cases", "waiting for a slot"):
        table.add_column(col, justify="right")
    daily = fc.daily
    back, wait = daily[daily["measure"] == "backlog"], daily[daily["measure"] == "waiting"]
    for (_, b), (_, w) in zip(back.iterrows(), wait.iterrows(), strict=True):
        table.add_row(str(b["day"]), str(b["date"]), _band(b), _band(w))
    stdout.print(table)
    summary = fc.summary.set_index("kpi")
    for key, label in (("decided", "decisions in the period (every case)"),
                       ("decisions", "decisions of cases referred in the period"),
                       ("within_deadline", "of these, decided within the deadline")):  # fmt: skip
        row = summary.loc[key]
        stdout.print(f"{label}: {_band(row, key == 'within_deadline')}", highlight=False)
    if fc.run_id:
        stdout.print(f"run {fc.run_id} (twinsight rerun {fc.run_id})", style="dim", highlight=False)


@casework_app.command("spec")
def spec_command(
    name: NameArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="The flow-spec YAML file to write.")],
    days: Annotated[float, typer.Option("--days", help="Days simulated after the warm-up.")] = 365,
    warmup: Annotated[float, typer.Option("--warmup", help="Warm-up days from empty.")] = 90,
    workers: Annotated[
        list[str] | None,
        typer.Option("--workers", help="TEAM=N: another number of workers.", show_default=False),
    ] = None,
    home: HomeOpt = None,
    db: DbOpt = None,
) -> None:
    """Write the calibrated casework model as a flow spec (steady state from empty), for
    'twinsight compare --spec' and 'twinsight optimise' (examples/casework/)."""
    if not (days > 0 and warmup >= 0):
        fail(f"--days {days:g} / --warmup {warmup:g}: days > 0 and warmup >= 0", "e.g. --days 365")
    chosen = _workers(workers)
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    try:
        model = export_spec(twin, out, days=days, warmup=warmup, workers=chosen)
    except _EXPECTED as exc:
        _fail_on(exc)
    except OSError as exc:
        fail(f"--out: cannot write {out} ({exc.strerror})", "choose a writable path")
    finally:
        twin.close()
    slots = ", ".join(f"team_{t} {x.workers}x{x.caseload}" for t, x in model.teams.items())
    stderr.print(f"wrote {out} ({slots} slots)", highlight=False, markup=False)


@casework_app.command("equity")
def equity_command(
    name: NameArg,
    reps: Annotated[int, typer.Option("--reps", help="Replications.")] = 20,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Random seed.")] = 1,
    days: Annotated[float, typer.Option("--days", help="Days simulated after the warm-up.")] = 365,
    k: Annotated[int, typer.Option("--k", help="Suppress person counts below k.")] = DEFAULT_K,
    workers: Annotated[
        list[str] | None,
        typer.Option("--workers", help="TEAM=N: another number of workers.", show_default=False),
    ] = None,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Decisions, time to decision and the share within the deadline by district, priority
    and team: the calibrated model in steady state beside what was observed (counts of people
    below k suppressed, with their rates)."""
    if reps < 2 or k < 1 or not days > 0:
        fail("--reps must be >= 2, --k >= 1 and --days > 0", "e.g. --reps 20 --k 5")
    chosen = _workers(workers)
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    try:
        with _errors(db):
            try:
                cal = load_casework_calibration(twin)
                model = cal.model(chosen)
                spec = model.spec(days + 90.0, warmup=90.0)
            except _EXPECTED as exc:
                _fail_on(exc)
    finally:
        twin.close()
    result = run_experiment(spec, reps=reps, seed=seed)
    table = equity_table(model, model.kpis(result.per_rep), k)
    observed = _observed(cal.observed_, k)
    if as_json:
        rows = table.astype(object).where(table.notna(), None).to_dict("records")
        payload = {"twin": name, "reps": reps, "seed": seed, "k": k, "model": rows,
                   "observed": observed}  # fmt: skip
        stdout.file.write(json.dumps(payload, default=_num) + "\n")
        return
    out = Table(
        title=f"twin '{name}': model ({reps} runs of {days:g} days, per run) against observed "
        f"(decisions < {k} suppressed)",
        title_justify="left",
    )
    for col in ("group", "decisions", "days", "within", "observed days", "observed within"):
        out.add_column(col, justify="left" if col == "group" else "right")
    for r in table.to_dict("records"):
        obs = observed.get(str(r["group"]), {})
        out.add_row(str(r["group"]), str(r["decisions"]), _fmt(r["time_to_decision"], False),
                    _fmt(r["within_deadline"], True), _fmt(obs.get("time_to_decision"), False),
                    _fmt(obs.get("within_deadline"), True))  # fmt: skip
    shown = set(table["group"].astype(str))
    for key, obs in observed.items():  # observed only (the other dimension: client groups)
        if key not in shown and "decisions" in obs:
            out.add_row(key, "-", "-", "-", _fmt(obs.get("time_to_decision"), False),
                        _fmt(obs.get("within_deadline"), True))  # fmt: skip
    stdout.print(out)


@emulate_app.command("social-services")
def emulate_social_services(
    days: Annotated[int, typer.Option("--days", help="Days of history to write.")] = 365,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Random seed.")] = 1,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output file: .csv or .parquet.", show_default=False),
    ] = None,
    start: Annotated[
        str, typer.Option("--start", help="First day of the history, YYYY-MM-DD (UTC).")
    ] = "2026-01-05",
    clean: Annotated[bool, typer.Option("--clean", help="No defects at all.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (counts) on stdout.")
    ] = False,
) -> None:
    """A social-services department (4 districts, 2 teams, decision panels, absences,
    seasonal surges): case events with defects (docs/social-services.md)."""
    if out is None:
        fail("missing option '--out'", "give the file to write, e.g. --out cases.csv")
    if out.suffix.lower() not in (".csv", ".parquet"):
        fail(f"--out: {out} is neither .csv nor .parquet", "e.g. --out cases.csv")
    if days < 1:
        fail(f"--days must be a whole number of days >= 1, got {days}", "e.g. --days 365")
    if seed < 0:
        fail(f"--seed must be >= 0, got {seed}", "e.g. --seed 1")
    try:
        first = date.fromisoformat(start)
    except ValueError:
        fail(f"--start '{start}' is not a date", "write it as YYYY-MM-DD, e.g. --start 2026-01-05")
    result = emulate_casework(days, seed, start=first,
                              defects=CaseDefects.none() if clean else None)  # fmt: skip
    try:
        count = write_case_events(result.rows, out)
    except OSError as exc:
        fail(f"--out: cannot write {out}: {exc.strerror}", "choose a writable file path")
    if as_json:
        summary = {"out": str(out), "events": count, "true_events": len(result.events),
                   "days": days, "start": first.isoformat(), "seed": seed,
                   "defects": result.defects}  # fmt: skip
        stdout.file.write(json.dumps(summary) + "\n")
        return
    stderr.print(
        f"wrote {count} case events ({days} days from {first}, seed {seed}) to {out}",
        highlight=False,
        markup=False,
    )


def parse_until(text: str | None) -> datetime | None:
    """``--until`` as an instant (None when not given)."""
    return parse_instant(text, "--until") if text is not None else None


def casework_kpis(model: Any) -> list[str]:
    """The KPIs a casework comparison reports: per team the share decided within the deadline,
    the mean days to decision, the cases waiting for a slot and how busy the caseloads are."""
    out: list[str] = []
    for t in model.teams:
        out += [f"journey_within_target[team:{t}]", f"journey_mean[team:{t}]",
                f"queue_mean[assess_{t}]", f"utilisation[team_{t}]"]  # fmt: skip
    return out


def casework_compare(
    args: list[str],
    reps: int,
    seed: int,
    kpis: list[str],
    targets: list[Any],
    max_reps: int,
    home: Path | None,
    db: str | None,
    quiet: bool,
    where: tuple[str, str | None, int | None] = ("auto", None, None),
) -> tuple[Any, str | None, str]:
    """``twinsight compare NAME SCENARIO...`` on a social-services twin: the calibrated model in
    steady state (a year after 90 days of warm-up) against the scenarios, common random numbers;
    recorded in the twin's store. Each batch of replications runs on ``where`` (executor,
    cluster, workers: the same numbers on each)."""
    from ..casework._runs import record_casework_compare
    from ..decide import ScenarioError, compare_spec
    from ..spec import SpecError
    from ._compare import _bar, _scenario
    from ._output import report_spec_error
    from ._where import run_on

    name = args[0]
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    try:
        with _errors(db):
            try:
                scenarios = [_scenario(twin, a) for a in args[1:]]
            except SpecError as exc:
                report_spec_error(exc)
            try:
                cal = load_casework_calibration(twin)
                model = cal.model()
                spec = model.spec(455.0, warmup=90.0, name=f"casework twin {name}")
                kpis = kpis or casework_kpis(model)
                with (
                    run_on(*where) as executor,
                    _bar(not quiet and stderr.is_terminal) as progress,
                ):
                    comp, _ = compare_spec(
                        spec,
                        scenarios,
                        reps=reps,
                        seed=seed,
                        kpis=kpis,
                        targets=targets,
                        max_reps=max_reps,
                        progress=progress,
                        executor=executor,
                        workers=where[2],
                    )
                run_id = record_casework_compare(twin.engine, name, cal, spec, scenarios, comp,
                                                 seed=seed, kpis=kpis, targets=targets,
                                                 max_reps=max_reps)  # fmt: skip
            except (*_EXPECTED, ScenarioError) as exc:
                _fail_on(exc)
            except KeyboardInterrupt:
                fail("interrupted: nothing was stored", code=130)
    finally:
        twin.close()
    title = (
        f"social-services twin '{name}': its model in steady state (365 days) against "
        f"{len(scenarios)} scenario(s), {comp.reps} replications each, seed {seed}, "
        "common random numbers"
    )
    return comp, run_id, title


_WHERE = {
    "referral": "awaiting triage",
    "triage": "waiting for a slot",
    "assessment_start": "being assessed",
    "info_received": "being assessed",
    "info_requested": "waiting for information",
    "decision": "decided, closing",
}


def _state_sums(teams: dict[str, Any]) -> list[tuple[tuple[str, ...], list[tuple[str, ...]]]]:
    """The sums ``casework_state`` shows: teams add up to the totals, places to a team's open."""
    sums: list[tuple[tuple[str, ...], list[tuple[str, ...]]]] = [
        ((key,), [("teams", t, key) for t in teams]) for key in ("open", "past_deadline")
    ]
    return sums + [(("teams", t, "open"), [("teams", t, "where", w) for w in row["where"]])
                   for t, row in teams.items()]  # fmt: skip


def casework_state(twin: Twin, at: datetime | None, db: str | None, as_json: bool) -> None:
    """``twinsight state`` on a social-services twin: open cases by team and where they are,
    those past the deadline, and allocated cases per worker (counts of cases < 5 suppressed)."""
    from ..casework import present

    try:
        with _errors(db):
            try:
                cal = load_casework_calibration(twin)
                st = present(twin, at)
            except _EXPECTED as exc:
                _fail_on(exc)
    finally:
        twin.close()
    cases = st.cases.assign(where=st.cases["state"].map(_WHERE))
    teams: dict[str, Any] = {}
    for team, g in cases.groupby("team"):
        allocated = int(g["state"].isin(["assessment_start", "info_received", "info_requested",
                                         "decision"]).sum())  # fmt: skip
        workers = cal.teams_[str(team)].workers if str(team) in cal.teams_ else None
        teams[str(team)] = {
            "open": len(g),
            "past_deadline": int(g["past_deadline"].sum()),
            "where": {w: int((g["where"] == w).sum()) for w in dict.fromkeys(_WHERE.values())},
            "cases_per_worker": round(allocated / workers, 2) if workers else None,
        }
    out = {
        "twin": twin.name,
        "at": st.at.isoformat(),
        "open": len(cases),
        "past_deadline": int(cases["past_deadline"].sum()),
        "stale": st.stale,
        "teams": teams,
    }
    out = protect_json(out, _state_sums(teams), [("stale",)])  # totals: secondary suppression
    if as_json:
        stdout.file.write(json.dumps(out) + "\n")
        return
    table = Table(
        title=f"social-services twin '{twin.name}' at {st.at:%Y-%m-%d %H:%M} UTC: {out['open']} "
        f"open cases, {out['past_deadline']} past the deadline ({out['stale']} stale left out; "
        "counts < 5 suppressed)",
        title_justify="left",
    )
    columns = ["team", *dict.fromkeys(_WHERE.values()), "past deadline", "cases per worker"]
    for col in columns:
        table.add_column(col, justify="left" if col == "team" else "right")
    for team, row in teams.items():
        table.add_row(team, *(str(v) for v in row["where"].values()), str(row["past_deadline"]),
                      str(row["cases_per_worker"] or "-"))  # fmt: skip
    stdout.print(table)


def casework_backtest(
    name: str,
    days: float | None,
    origins: int,
    step_days: float | None,
    window_days: float | None,
    reps: int,
    seed: int,
    home: Path | None,
    db: str | None,
    as_json: bool,
) -> None:
    """``twinsight backtest`` on a social-services twin: rolling origins (default 28 days
    apart, 28 days scored each, calibrated on the twin's window before each), the open cases
    per day against the forecast's median and bands and two naive baselines."""
    ahead = 28.0 if days is None else days
    step = ahead if step_days is None else step_days
    if not (1 <= ahead <= MAX_DAYS and ahead == int(ahead)):
        fail(f"--days: {ahead:g} is not a whole number of days in 1-{MAX_DAYS}", "e.g. --days 28")
    if origins < 1 or step <= 0 or reps < 10 or (window_days is not None and window_days <= 0):
        fail("--origins >= 1, --step-days > 0, --window-days > 0 and --reps >= 10",
             "e.g. --origins 8 --step-days 28 --reps 200")  # fmt: skip
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    try:
        with _errors(db):
            try:
                if not as_json:
                    stderr.print(f"backtesting {origins} origins (a calibration and a forecast "
                                 "each)...", style="dim")  # fmt: skip
                result = run_backtest(twin, days=int(ahead), origins=origins, step_days=step,
                                      window_days=window_days, reps=reps, seed=seed)  # fmt: skip
            except _EXPECTED as exc:
                _fail_on(exc)
    finally:
        twin.close()
    s = result.summary()
    if as_json:
        stdout.file.write(json.dumps({"twin": name, **s}, default=_num) + "\n")
        return
    table = Table(
        title=f"backtest of '{name}': {s['origins']} origins x {int(ahead)} days, open cases per "
        f"day, {reps} replications in {s['groups']} parameter draws",
        title_justify="left",
    )
    for col in ("", "MAE (cases)", "90% coverage", "50% coverage"):
        table.add_column(col, justify="right" if col else "left")
    table.add_row("twin", f"{s['mae']:.1f}", f"{100 * s['coverage_90']:.1f}%",
                  f"{100 * s['coverage_50']:.1f}%")  # fmt: skip
    table.add_row("last value", f"{s['baselines']['last_value']['mae']:.1f}", "", "")
    table.add_row("same day last week", f"{s['baselines']['same_day_last_week']['mae']:.1f}",
                  "", "")  # fmt: skip
    stdout.print(table)
    lo, hi = s["coverage_90_band"]
    verdict = "beats both baselines" if s["beats_baselines"] else "does NOT beat both baselines"
    stdout.print(
        f"the twin {verdict} on MAE; its 90% bands held {100 * s['coverage_90']:.1f}% of days "
        f"(a calibrated band: {100 * lo:.0f}-{100 * hi:.0f}% with 95% probability over "
        f"{s['origins']} independent origins)",
        highlight=False,
    )
