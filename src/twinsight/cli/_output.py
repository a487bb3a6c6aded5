"""Where the CLI writes and how it fails: results on stdout, messages on stderr, exit codes.

Exit codes: 0 success, 1 the run itself failed (an engine error), 2 bad input (spec, file,
option or override), the same code Typer uses for usage errors.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NoReturn, Protocol

import typer
from rich.console import Console
from rich.text import Text

from ..spec import SpecError

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_RUN_FAILED",
    "fail",
    "parse_instant",
    "print_ingest_reports",
    "report_spec_error",
    "stderr",
    "stdout",
]

EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2

#: Results (tables, JSON) go to stdout; progress and problems to stderr.
stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def fail(message: str, hint: str | None = None, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print ``error: message`` (and a hint) on stderr and exit with ``code``; no traceback."""
    text = Text("error: ", style="bold red")
    text.append(message)
    stderr.print(text)
    if hint:
        stderr.print(Text(f"  hint: {hint}", style="yellow"))
    raise typer.Exit(code)


def report_spec_error(exc: SpecError) -> NoReturn:
    """Print every problem of a spec as ``file:line:col: path: message`` and exit 2."""
    count = len(exc.problems)
    head = Text("error: ", style="bold red")
    head.append(f"{exc.source}: {count} problem{'s' if count != 1 else ''} in the spec")
    stderr.print(head)
    for problem in exc.problems:
        line = Text("  ")
        line.append(problem.render(exc.source).split(": ", 1)[0], style="bold")
        line.append(": ")
        line.append(problem.path or "<top>", style="cyan")
        line.append(": ")
        line.append(problem.message)
        stderr.print(line)
    raise typer.Exit(EXIT_BAD_INPUT)


def parse_instant(text: str, option: str) -> datetime:
    """An ISO 8601 instant with a UTC offset from option ``option`` (``--at``, ``--until``);
    anything else exits 2 with the fix."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(
            f"{option}: '{text}' is not an ISO 8601 instant",
            "write it like 2026-03-02T08:00:00Z (with a UTC offset)",
        )
    if at.tzinfo is None:
        fail(
            f"{option}: '{text}' has no UTC offset",
            "add Z or an offset, e.g. 2026-03-02T08:00:00Z or 2026-03-02T09:00:00+01:00",
        )
    return at


class IngestSummary(Protocol):
    """What a twin's ingest of one file reports (counts, the first quarantine reasons)."""

    source: str
    accepted: int
    duplicate: int
    quarantined: int
    reasons: list[str]

    def to_dict(self) -> dict[str, Any]: ...


def print_ingest_reports(
    twin: str, reports: Sequence[IngestSummary], as_json: bool, *, shown: int = 10
) -> None:
    """The ingest of files into a twin: one JSON object (totals and each file), or a line per
    file with its first ``shown`` quarantine reasons."""
    totals = {
        k: sum(getattr(r, k) for r in reports) for k in ("accepted", "duplicate", "quarantined")
    }
    if as_json:
        out = {"twin": twin, **totals, "files": [r.to_dict() for r in reports]}
        stdout.file.write(json.dumps(out) + "\n")
        return
    for r in reports:
        stdout.print(
            f"{r.source}: {r.accepted} accepted, {r.duplicate} duplicate, "
            f"{r.quarantined} quarantined",
            highlight=False,
            markup=False,
        )
        for reason in r.reasons[:shown]:
            stdout.print(f"  quarantined {reason}", highlight=False, markup=False)
        if len(r.reasons) > shown:
            stdout.print(f"  ... and {len(r.reasons) - shown} more (see the quarantine table)")
