"""The Typer application: one thin function per command."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from .. import __version__
from ..spec import SpecError, json_schema_text, parse_spec
from ._examples import example_names, example_text
from ._output import fail, report_spec_error, stdout
from ._simulate import load_or_exit, resolve_warmup, simulate

__all__ = ["app"]

app = typer.Typer(
    name="twinsight",
    help="Twinsight: digital twins of the services people rely on.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


class EngineName(StrEnum):
    """The engines a flow network can run on; both follow docs/semantics.md."""

    fast = "fast"
    reference = "reference"


def _version(value: bool) -> None:
    if value:
        stdout.print(f"twinsight {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Twinsight: describe a service network, check it, simulate it."""


SpecArg = Annotated[Path, typer.Argument(help="A flow-network spec (YAML).", show_default=False)]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a spec value before validation: path=value (value is YAML), e.g. "
        "--set stations.triage.queue_capacity=10 --set arrivals.walk_in.rate=3. Repeatable.",
        show_default=False,
    ),
]
RepsOpt = Annotated[int, typer.Option("--reps", "-r", min=1, help="Number of replications.")]
SeedOpt = Annotated[int, typer.Option("--seed", "-s", min=0, help="Experiment seed.")]
EngineOpt = Annotated[EngineName, typer.Option("--engine", "-e", help="Simulation engine.")]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print one JSON object on stdout instead of the table.")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
LongOpt = Annotated[
    bool, typer.Option("--long", help="Every KPI in a row of its own instead of the summary.")
]


class ExecutorName(StrEnum):
    """Where replications run (twinsight.scale; the same numbers on each)."""

    default = "default"
    auto = "auto"
    inprocess = "inprocess"
    processes = "processes"
    dask = "dask"


def _executor_given(ctx: typer.Context, param: typer.CallbackParam, value: object) -> object:
    """``--executor`` left out: ``default`` (whatever the command's signature says), which is
    ``processes`` or $TWINSIGHT_EXECUTOR; a process pool's server starts loading the engines
    now, while the command reads its inputs (twinsight.scale.start_pool_server)."""
    source = ctx.get_parameter_source(param.name) if param.name else None
    if source is not None and source.name == "DEFAULT":  # typer's own click's enum
        value = ExecutorName.default
    from ..scale import ScaleError, resolve_executor, start_pool_server

    try:
        if resolve_executor(str(value)) == "processes":
            start_pool_server()
    except ScaleError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


ExecutorOpt = Annotated[
    ExecutorName,
    typer.Option(
        "--executor",
        help="Where replications run. Default: processes -- a local process pool, one worker "
        "per core (in this process on a 1-core machine), started as the command begins; "
        "the environment variable TWINSIGHT_EXECUTOR (inprocess, processes, auto or dask) sets "
        "another default. inprocess: "
        "here (the fast engine on one thread per core); auto: here, or a pool when the "
        "reference engine would take over 20 s; dask: see --cluster.",
        callback=_executor_given,
        show_default=False,
    ),
]
ClusterOpt = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Run on a Dask cluster: 'local' starts one here, tcp://HOST:PORT joins one.",
        show_default=False,
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers", min=1, help="Worker processes (processes, dask local); default: CPU count."
    ),
]


@app.command()
def validate(
    specs: Annotated[
        list[Path], typer.Argument(help="One or more spec files (YAML).", show_default=False)
    ],
    overrides: SetOpt = None,
) -> None:
    """Check spec files; list every problem with its file:line:col, path and a fix (exit 2)."""
    for path in specs:
        spec = load_or_exit(path, overrides or [])
        counts = ", ".join(
            _plural(n, what)
            for n, what in [
                (len(spec.stations), "station"),
                (len(spec.resources), "resource"),
                (len(spec.classes), "class"),
                (len(spec.arrivals), "arrival stream"),
            ]
        )
        stdout.print(
            f"[green]OK[/] {escape(str(path))}: '{escape(spec.name)}': {counts}; "
            f"horizon {spec.horizon:g} {spec.time_unit.value} (warm-up {spec.warmup:g})",
            markup=True,
            highlight=False,
        )


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"1 {word}"
    return f"{n} {word}es" if word.endswith("s") else f"{n} {word}s"


@app.command()
def schema() -> None:
    """Print the JSON Schema (draft 2020-12) of a flow-network spec on stdout."""
    stdout.file.write(json_schema_text() + "\n")


@app.command(name="simulate")
def simulate_cmd(
    spec_path: SpecArg,
    reps: RepsOpt = 10,
    seed: SeedOpt = 1,
    horizon: Annotated[
        float | None,
        typer.Option("--horizon", help="Run length (spec's time_unit); default: the spec's."),
    ] = None,
    warmup: Annotated[
        str | None,
        typer.Option(
            "--warmup",
            help="Warm-up (spec's time_unit), or 'auto' to choose it by MSER-5 from pilot "
            "runs; default: the spec's.",
        ),
    ] = None,
    precision: Annotated[
        str | None,
        typer.Option(
            "--precision",
            help="Run replications until this KPI's 95% half-width is reached: KPI=VALUE "
            "(in the KPI's unit) or KPI=5% (of its mean); --reps is then the pilot.",
            show_default=False,
        ),
    ] = None,
    max_reps: Annotated[
        int, typer.Option("--max-reps", min=2, help="Upper bound on replications for --precision.")
    ] = 1000,
    overrides: SetOpt = None,
    engine: EngineOpt = EngineName.fast,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    long: LongOpt = False,
    executor: ExecutorOpt = ExecutorName.default,
    cluster: ClusterOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Simulate a spec: KPI means with confidence intervals over independent replications."""
    spec = load_or_exit(spec_path, overrides or [])
    simulate(
        spec,
        reps=reps,
        seed=seed,
        engine=engine.value,
        horizon=horizon,
        warmup=resolve_warmup(spec, warmup, engine.value, seed, horizon, quiet),
        as_json=as_json,
        quiet=quiet,
        precision=precision,
        max_reps=max_reps,
        long=long,
        executor=executor.value,
        cluster=cluster,
        workers=workers,
    )


@app.command()
def demo(
    what: Annotated[
        str | None,
        typer.Argument(
            help="'hospital': a hospital twin fed live by the emulator, with the dashboard at "
            "http://127.0.0.1:8000 (docs/dashboard.md).",
            show_default=False,
        ),
    ] = None,
    example: Annotated[
        str, typer.Option("--example", help="Which bundled example to run (hospital, mmc).")
    ] = "hospital",
    reps: RepsOpt = 10,
    seed: SeedOpt = 1,
    engine: Annotated[
        EngineName,
        typer.Option(
            "--engine",
            "-e",
            help="Simulation engine. 'fast' is compiled by numba on its first use (about "
            "50 s), then cached; 'reference' (SimPy) starts at once.",
        ),
    ] = EngineName.fast,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    long: LongOpt = False,
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="demo hospital: port.")
    ] = 8000,
    home: Annotated[
        Path | None,
        typer.Option("--home", help="demo hospital: folder of twins.", show_default=False),
    ] = None,
    speed: Annotated[
        float, typer.Option("--speed", min=0.1, help="demo hospital: emulated hours per real hour.")
    ] = 60.0,
) -> None:
    """Simulate the bundled hospital-like example (ED, wards, shifts, boarding) and show KPIs;
    'twinsight demo hospital' runs a live hospital twin with its dashboard instead."""
    if what is not None:
        from ._demo import demo_hospital

        demo_hospital(what, home=home, port=port, speed=speed, seed=seed)
        return
    names = example_names()
    if example not in names:
        fail(f"there is no bundled example '{example}'", f"choose one of {', '.join(names)}")
    source = f"<bundled example {example}.yaml>"
    try:
        spec = parse_spec(example_text(example), source=source)
    except SpecError as exc:  # pragma: no cover - the bundled examples are tested
        report_spec_error(exc)
    if not as_json:
        stdout.print(f"[bold]{escape(spec.name)}[/]: {escape(spec.description)}", highlight=False)
    simulate(
        spec, reps=reps, seed=seed, engine=engine.value, as_json=as_json, quiet=quiet, long=long
    )
