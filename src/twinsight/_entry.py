"""The ``twinsight`` console script: import the command line, then run it.

Importing the commands loads numpy, pandas, numba's cached kernels and the service; a Ctrl-C in
those seconds would otherwise end in a traceback. Here it ends quietly with exit code 130, as a
Ctrl-C inside any command does.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    """Entry point of the ``twinsight`` console script."""
    try:
        from .scale import prestart

        prestart(sys.argv[1:])  # a pool's server loads the engines while the commands load
        from .cli import main as run
    except (KeyboardInterrupt, RuntimeError) as exc:
        # a Ctrl-C inside a class body's __set_name__ (pydantic models) arrives wrapped in a
        # RuntimeError whose cause is the KeyboardInterrupt
        if not isinstance(exc, KeyboardInterrupt) and not isinstance(
            exc.__cause__, KeyboardInterrupt
        ):
            raise
        sys.stderr.write("interrupted: nothing was stored\n")
        raise SystemExit(130) from None
    run()
