"""``twinsight demo hospital``: the live hospital twin with its dashboard (the command's
definition stays in ``_app.demo``; its ``hospital`` branch calls ``demo_hospital``)."""

from __future__ import annotations

import socket
from pathlib import Path

from rich.markup import escape

from ._output import fail, stderr, stdout

__all__ = ["demo_hospital"]


def _say(message: str) -> None:
    stderr.print(escape(message), highlight=False)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def demo_hospital(what: str, *, home: Path | None, port: int, speed: float, seed: int) -> None:
    """Prepare the demo twin, print the admin token once, serve and stream until Ctrl-C."""
    from ..service.demo import prepare_demo, run_demo

    if what != "hospital":
        fail(f"there is no demo '{what}'", "use 'twinsight demo hospital' (or 'twinsight demo')")
    if not _port_free(port):
        fail(f"--port: 127.0.0.1:{port} is in use", "choose another with --port, e.g. --port 8010")
    plan = prepare_demo(home, seed=seed, say=_say)
    stdout.print(
        "\n[bold]Admin token[/] (shown once; paste it into the dashboard's sign-in form):\n"
        f"  {escape(plan.admin_token)}\n",
        highlight=False,
    )
    run_demo(plan, port=port, speed=speed, say=_say)
