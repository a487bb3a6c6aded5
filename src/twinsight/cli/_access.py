"""``twinsight token create|list|revoke`` (API tokens of the service home) and ``twinsight
audit [verify] NAME`` (a twin's audit log; ``--access`` for the home's own log).

``audit verify`` exits 0 and prints ``intact: N entries`` when the chain holds, exits 1 naming
the first edited, removed or reordered entry when it does not (removed newest entries are found
against the anchor kept outside the database), and 2 on bad input. ``--reanchor`` moves the
anchor to the log's head after a database was restored from a backup (audited).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..govern import ROLES, AccessError, AccessStore, audit
from ..twin import open_twin, twin_home
from ._app import app
from ._output import EXIT_RUN_FAILED, fail, stdout
from ._twin import DbOpt, HomeOpt, _errors, _open

__all__ = ["audit_command", "retention", "token_create", "token_list", "token_revoke"]

token_app = typer.Typer(
    help="API tokens of the service home (docs/security.md): create, list, revoke.",
    no_args_is_help=True,
)
app.add_typer(token_app, name="token")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _access(home: Path | None) -> AccessStore:
    folder = twin_home(home)
    if not folder.is_dir():
        fail(
            f"--home: {folder} is not a folder of twins",
            "create a twin first (twinsight init NAME --home DIR) or pass --home",
        )
    try:
        return AccessStore(folder)
    except AccessError as exc:
        fail(str(exc))


@token_app.command("create")
def token_create(
    role: Annotated[
        str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.", show_default=False)
    ],
    twin: Annotated[
        list[str] | None,
        typer.Option("--twin", help="A twin this token may act on (repeat; default: every twin)."),
    ] = None,
    name: Annotated[str, typer.Option("--name", help="A label: what or who uses it.")] = "",
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Make a token; it is printed once, here, and stored only as its SHA-256."""
    access = _access(home)
    try:
        token, info = access.create(role, twin or [], name)
        audit.append(
            access.engine,
            actor=audit.cli_actor(),
            action="token-create",
            target=f"token:{info.id}",
            detail={"role": info.role, "twins": list(info.twins) or ["*"]},
        )
    except AccessError as exc:
        fail(f"--role/--twin: {exc}")
    finally:
        access.close()
    if as_json:
        stdout.file.write(json.dumps({"token": token, **info.to_json()}) + "\n")
        return
    scope = ", ".join(info.twins) or "every twin"
    stdout.print(f"token {info.id} ({info.role}, {escape(scope)}):", highlight=False)
    stdout.file.write(token + "\n")
    stdout.print("it is shown only now: keep it in a secret store", style="yellow")


@token_app.command("list")
def token_list(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """List the tokens (never their secrets), revoked ones included."""
    access = _access(home)
    try:
        tokens = access.list()
    finally:
        access.close()
    if as_json:
        stdout.file.write(json.dumps({"tokens": [t.to_json() for t in tokens]}) + "\n")
        return
    table = Table("id", "role", "twins", "name", "created", "revoked")
    for t in tokens:
        table.add_row(
            t.id,
            t.role,
            escape(", ".join(t.twins) or "*"),
            escape(t.name),
            t.created_at.strftime("%Y-%m-%d %H:%M"),
            t.revoked_at.strftime("%Y-%m-%d %H:%M") if t.revoked_at else "",
        )
    stdout.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[
        str, typer.Argument(help="The token's id (token list).", show_default=False)
    ],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Revoke a token: it stops working at once (its record and audit entries stay)."""
    access = _access(home)
    try:
        info = access.revoke(token_id)
        audit.append(
            access.engine,
            actor=audit.cli_actor(),
            action="token-revoke",
            target=f"token:{info.id}",
        )
    except AccessError as exc:
        fail(str(exc), "twinsight token list shows the ids")
    finally:
        access.close()
    if as_json:
        stdout.file.write(json.dumps(info.to_json()) + "\n")
        return
    stdout.print(f"revoked token {info.id} ({info.role})", highlight=False)


def _head(text: str | None) -> tuple[int, str] | None:
    if text is None:
        return None
    seq, _, digest = text.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        fail(f"--head: '{text}' is not SEQ:HASH", "copy it from an earlier 'audit verify'")
    return int(seq), digest.lower()


def _show(entries: list[audit.AuditEntry], as_json: bool) -> None:
    if as_json:
        stdout.file.write(json.dumps({"entries": [e.to_json() for e in entries]}) + "\n")
        return
    table = Table("seq", "at (UTC)", "actor", "action", "target", "detail")
    for e in entries:
        detail = ", ".join(f"{k}={v}" for k, v in e.detail.items())
        table.add_row(
            str(e.seq),
            e.at.strftime("%Y-%m-%d %H:%M:%S"),
            escape(e.actor),
            e.action,
            escape(e.target),
            escape(detail),
        )
    stdout.print(table)


def _verify(report: audit.AuditReport, as_json: bool) -> None:
    problem = report.problem
    if as_json:
        body: dict[str, Any] = {
            "intact": report.intact,
            "entries": report.entries,
            "head": f"{report.head_seq}:{report.head_hash}",
            "anchor_seq": report.anchor_seq,
            "problem": None
            if problem is None
            else {"kind": problem.kind, "seq": problem.seq, "message": problem.message},
        }
        stdout.file.write(json.dumps(body) + "\n")
    elif problem is None:
        stdout.print(f"intact: {report.entries} entries", highlight=False)
        stdout.print(f"head: {report.head_seq}:{report.head_hash}", highlight=False)
        if report.anchor_seq is None:
            stdout.print("anchor: none yet (it is written with the next entry)", highlight=False)
        elif report.anchor_seq < report.head_seq:
            stdout.print(
                f"anchor: entry {report.anchor_seq} (behind the head: an interrupted append)",
                highlight=False,
            )
        else:
            stdout.print(f"anchor: entry {report.anchor_seq}", highlight=False)
    else:
        stdout.print(f"[bold red]broken[/]: {escape(problem.message)}", highlight=False)
    if problem is not None:
        raise typer.Exit(EXIT_RUN_FAILED)


@app.command("audit")
def audit_command(
    words: Annotated[
        list[str] | None,
        typer.Argument(
            help="NAME to list a twin's entries, or 'verify NAME' to check its chain.",
            show_default=False,
        ),
    ] = None,
    access_log: Annotated[
        bool, typer.Option("--access", help="The home's own log (tokens, logins, denials).")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Newest entries to list.")] = 50,
    head: Annotated[
        str | None,
        typer.Option(
            "--head",
            help="SEQ:HASH from an earlier verify: also detects removed newest entries.",
            show_default=False,
        ),
    ] = None,
    reanchor: Annotated[
        bool,
        typer.Option(
            "--reanchor",
            help="With verify: after restoring the database from a backup, move the anchor to "
            "the log's newest entry (the chain must hold; audited).",
        ),
    ] = False,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List a twin's audit entries (twinsight audit NAME) or check its hash chain
    (twinsight audit verify NAME: exit 0 intact, 1 broken, naming the entry)."""
    args = list(words or [])
    verify = len(args) >= 1 and args[0] == "verify" and (len(args) == 2 or access_log)
    names = args[1:] if verify else args
    if len(names) != (0 if access_log else 1):
        fail(
            "give one twin NAME (or --access for the home's log)",
            "twinsight audit NAME, or twinsight audit verify NAME",
        )
    expected = _head(head)
    if access_log:
        store = _access(home)
        engine, close = store.engine, store.close
    else:
        twin = _open(lambda: open_twin(names[0], home=home, db_url=db), db)
        engine, close = twin.engine, twin.close
    try:
        with _errors(db):
            if verify and reanchor:
                try:
                    report = audit.reanchor(engine)
                except ValueError as exc:
                    fail(f"--reanchor: {exc}", "restore the database from an intact backup")
            elif verify:
                report = audit.verify(engine, head=expected)
            else:
                entries = audit.entries(engine, limit=limit)
    finally:
        close()
    if verify:
        _verify(report, as_json)
    else:
        _show(entries, as_json)


@app.command()
def retention(
    name: Annotated[str, typer.Argument(help="The twin's name.", show_default=False)],
    days: Annotated[
        int,
        typer.Option("--days", min=1, help="Keep raw events of the last N days (UTC midnights)."),
    ],
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete raw events of stays that ended more than N days ago (and old quarantined
    records), after storing daily aggregates; open stays are kept whole (docs/security.md)."""
    from ..govern.retention import apply_retention

    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    try:
        with _errors(db):
            report = apply_retention(twin.engine, days)
    finally:
        twin.close()
    if as_json:
        stdout.file.write(json.dumps(report.to_json()) + "\n")
        return
    stdout.print(
        f"retention before {report.cutoff:%Y-%m-%d %H:%M} UTC: {report.days_aggregated} days "
        f"aggregated, {report.events_deleted} events and {report.quarantine_deleted} "
        "quarantined records deleted",
        highlight=False,
    )
