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
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    run()
