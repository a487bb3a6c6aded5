"""``twinsight serve``: the HTTP service (``twinsight.service``) under uvicorn.

The socket is bound here, before uvicorn starts, so a port in use is a plain error (exit 2)
with the fix rather than a server log line. Every route but ``/health`` and the docs needs a
bearer token (``twinsight token create``); ``--no-auth`` (local development) is refused on any
host but loopback (see ``docs/security.md``).
"""

from __future__ import annotations

import copy
import errno
import ipaddress
import socket
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ._app import app
from ._output import fail, stderr
from ._twin import DbOpt, HomeOpt

__all__ = ["serve", "serve_log_config"]


def _bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); exit 2 with the fix when it cannot be had."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        fail(f"--host: '{host}' is not an address of this machine", "use 127.0.0.1")
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            fail(
                f"port {port} on {host} is in use (another server is listening there)",
                f"stop that server, or pick another port: twinsight serve --port {port + 1}",
            )
        if exc.errno == errno.EACCES:
            fail(f"no permission to listen on port {port}", "use a port above 1023, e.g. 8000")
        fail(f"cannot listen on {host}:{port}: {exc.strerror}", "check --host and --port")
    sock.set_inheritable(True)
    return sock


def _has_tokens(folder: Path) -> bool:
    """True when the home's access store holds an unrevoked token."""
    from ..govern import AccessError, AccessStore

    try:
        access = AccessStore(folder)
    except AccessError:
        return False
    try:
        return any(t.revoked_at is None for t in access.list())
    finally:
        access.close()


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_log_config() -> dict[str, Any]:
    """uvicorn's logging, with the service's own log, and the access log without the lines of
    single events answered 200 (audited already; ``fastpath.IngestAccessFilter``)."""
    import uvicorn

    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["loggers"]["twinsight"] = {"handlers": ["default"], "level": "INFO"}
    config.setdefault("filters", {})["single-events"] = {
        "()": "twinsight.service.fastpath.IngestAccessFilter"
    }
    config["loggers"]["uvicorn.access"]["filters"] = ["single-events"]
    return config


@app.command()
def serve(
    home: HomeOpt = None,
    db: DbOpt = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth",
            help="Accept requests without a token, as an admin (local development; loopback only).",
        ),
    ] = False,
    suppress_k: Annotated[
        int,
        typer.Option(
            "--suppress-k",
            min=1,
            envvar="TWINSIGHT_SUPPRESS_K",
            help="Person counts from 1 to k-1 are answered as '<k' (1: off).",
        ),
    ] = 5,
    ingest_rate: Annotated[
        float,
        typer.Option(
            "--ingest-rate",
            min=0,
            help="Ingest requests per second per token and twin (0: no limit); bursts of 2x.",
        ),
    ] = 200.0,
    retention_days: Annotated[
        int | None,
        typer.Option(
            "--retention-days",
            min=1,
            help="Keep raw events of the last N days only (checked at start and daily).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the twins over HTTP: ingest ADT events, read state, audit (docs/service.md).
    Requests need a bearer token from 'twinsight token create'."""
    import uvicorn

    from ..service import ServiceSettings, create_app
    from ..service.services.live import LiveServer
    from ..twin import twin_home

    if db is not None:
        try:
            make_url(db)
        except ArgumentError:
            fail("--db: not a database URL", "use postgresql://USER@HOST:5432/DATABASE")
    folder: Path = twin_home(home)
    if not folder.is_dir():
        fail(
            f"--home: {folder} is not a folder of twins",
            "create a twin first (twinsight init NAME --home DIR) or pass --home",
        )
    if no_auth and not _loopback(host):
        fail(
            f"--no-auth on {host}: a service without tokens may only listen on loopback",
            "drop --no-auth and create tokens with 'twinsight token create', or use 127.0.0.1",
        )
    settings = ServiceSettings(
        home=folder,
        db_url=db,
        auth=not no_auth,
        suppress_k=suppress_k,
        ingest_rate=ingest_rate or None,
        ingest_burst=max(1, int(2 * ingest_rate)),
        retention_days=retention_days,
    )
    sock = _bind(host, port)
    if not no_auth and not _has_tokens(folder):
        stderr.print(
            "warning: no active token in this home: every request will be refused (401); "
            "create one with 'twinsight token create --role admin'",
            style="yellow",
            highlight=False,
        )
    if no_auth:
        stderr.print(
            "warning: --no-auth: every request acts as an admin; for local development only",
            style="yellow",
            highlight=False,
        )
    stderr.print(
        f"twinsight: serving the twins of {folder} on http://{host}:{port}/api/v1 "
        f"({'no authentication' if no_auth else 'bearer tokens'}; the dashboard at "
        f"http://{host}:{port}/; Ctrl+C stops)",
        highlight=False,
    )
    log_config = serve_log_config()
    # open live feeds (the dashboard's server-sent events) never end by themselves: LiveServer
    # ends them on Ctrl+C; anything still open 3 s later is closed
    config = uvicorn.Config(create_app(settings), log_config=log_config, access_log=True,
                            timeout_graceful_shutdown=3)  # fmt: skip
    LiveServer(config).run(sockets=[sock])
