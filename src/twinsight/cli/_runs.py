"""``twinsight runs NAME`` (a twin's recorded forecasts, comparisons and optimisations) and
``twinsight rerun RUN_ID`` (run one again and check the numbers are identical)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine

from ..decide import RunRecord, list_runs, load_run, rerun
from ..store import open_store
from ..twin import open_twin, twin_home
from ._app import ClusterOpt, ExecutorName, ExecutorOpt, WorkersOpt, app
from ._compare import SPEC_RUNS
from ._output import EXIT_RUN_FAILED, fail, stderr, stdout
from ._twin import DbOpt, HomeOpt, NameArg, _errors, _open
from ._where import run_on

__all__ = ["rerun_cmd", "runs"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _iso(t: object) -> str | None:
    return None if t is None else t.isoformat()  # type: ignore[attr-defined]


def _summary(r: RunRecord) -> dict[str, object]:
    return {
        "run_id": r.run_id,
        "kind": r.kind,
        "twin": r.twin,
        "created_at": _iso(r.created_at),
        "spec_hash": r.spec_hash,
        "data_at": _iso(r.data_at),
        "data_received": _iso(r.data_received),
        "seeds": r.seeds,
        "reps": r.reps,
        "version": r.version,
        "scenarios": [s["name"] for s in r.request.get("scenarios", [])],
    }


@app.command()
def runs(
    name: NameArg,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, latest first.")] = 50,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The runs recorded for a twin (or for a flow spec compared with --spec), latest first."""
    folder = twin_home(home) / name
    if (folder / "twin.yaml").is_file():
        twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
        try:
            with _errors(db):
                rows = list_runs(twin.engine, name, limit=limit)
        finally:
            twin.close()
    else:
        spec_store = twin_home(home) / SPEC_RUNS
        if db is None and not spec_store.is_file():
            fail(f"there is no twin '{name}' in {twin_home(home)}", "check the name or --home")
        engine = open_store(db or spec_store)
        try:
            with _errors(db):
                key = name if name.startswith("spec:") else f"spec:{name}"
                rows = list_runs(engine, key, limit=limit)
        finally:
            engine.dispose()
    out = [_summary(r) for r in rows]
    if as_json:
        stdout.file.write(json.dumps({"twin": name, "runs": out}) + "\n")
        return
    if not out:
        stdout.print(f"no runs recorded for '{escape(name)}'", highlight=False)
        return
    table = Table(title=f"runs of '{name}', latest first", title_justify="left")
    table.add_column("run", no_wrap=True, min_width=12)
    table.add_column("kind", no_wrap=True)
    for col in ("created (UTC)", "data at", "reps", "seed", "spec", "scenarios"):
        table.add_column(col)
    for r in out:
        table.add_row(
            str(r["run_id"]),
            str(r["kind"]),
            str(r["created_at"])[:19].replace("T", " "),
            str(r["data_at"] or "")[:16].replace("T", " "),
            str(r["reps"]),
            ",".join(map(str, r["seeds"])),  # type: ignore[call-overload]
            str(r["spec_hash"])[:12],
            ", ".join(r["scenarios"]),  # type: ignore[arg-type]
        )
    stdout.print(table)


def _stores(home: Path | None, db: str | None) -> Iterator[Path | str]:
    if db is not None:
        yield db
        return
    root = twin_home(home)
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        if (folder / "twin.yaml").is_file() and (folder / "twin.db").is_file():
            yield folder / "twin.db"
    if (root / SPEC_RUNS).is_file():
        yield root / SPEC_RUNS


@contextmanager
def _find(run_id: str, home: Path | None, db: str | None) -> Iterator[tuple[Engine, RunRecord]]:
    """The store holding ``run_id`` (every twin's store in the home, and the spec runs)."""
    problems = []
    for target in _stores(home, db):
        engine = open_store(target)
        try:
            record = load_run(engine, run_id)
        except KeyError as exc:
            problems.append(str(exc.args[0]))
            engine.dispose()
            continue
        try:
            yield engine, record
        finally:
            engine.dispose()
        return
    ambiguous = [p for p in problems if "ambiguous" in p]
    fail(
        ambiguous[0] if ambiguous else f"no run '{run_id}' in {db or twin_home(home)}",
        "'twinsight runs NAME' lists a twin's runs; pass --home or --db for other stores",
    )


@app.command("rerun")
def rerun_cmd(
    run_id: Annotated[str, typer.Argument(help="The run's id (or a unique prefix).")],
    executor: ExecutorOpt = ExecutorName.default,
    cluster: ClusterOpt = None,
    workers: WorkersOpt = None,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a recorded run again (same spec, parameters, data up to its watermark, seeds) and
    say whether the numbers are identical; exit 1 if they are not. The executor is not part of
    the record: every executor gives the same numbers, so any may rerun it."""
    with _errors(db), _find(run_id, home, db) as (engine, record):
        try:
            with run_on(executor.value, cluster, workers) as chosen:
                # auto: in this process, as recorded runs always ran (their engine is the fast
                # one, whose threads use every core; an optimisation's own auto rule aside)
                where = None if chosen == "auto" else chosen
                if as_json or not stderr.is_terminal:
                    report = rerun(engine, record, executor=where)
                else:
                    with stderr.status(f"running {record.kind} {record.run_id} again..."):
                        report = rerun(engine, record, executor=where)
        except KeyboardInterrupt:
            fail("interrupted: nothing was stored", code=130)
        except ValueError as exc:
            fail(str(exc), code=EXIT_RUN_FAILED)
    if as_json:
        stdout.file.write(json.dumps(report.to_json()) + "\n")
    else:
        what = f"run {record.run_id} ({record.kind}, twin '{escape(record.twin)}')"
        if report.identical:
            stdout.print(f"{what}: identical", highlight=False)
        else:
            stdout.print(f"{what}: DIFFERENT", style="bold red", highlight=False)
            if not report.spec_identical:
                stdout.print("  the spec that ran now differs from the recorded one")
            for line in report.differences:
                stdout.print(f"  {escape(line)}", highlight=False)
        if report.version != report.recorded_version:
            stdout.print(
                f"  recorded with Twinsight {report.recorded_version}, rerun with {report.version}",
                style="yellow",
            )
    if not report.identical:
        raise typer.Exit(EXIT_RUN_FAILED)
