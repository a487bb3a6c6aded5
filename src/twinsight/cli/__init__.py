"""The ``twinsight`` command line: validate a spec, export its schema, simulate, run the demo.

Commands are thin; the work lives in small modules (``_output`` for messages and exit codes,
``_table`` for the KPI table, ``_simulate`` for running an experiment with a progress bar).
"""

from __future__ import annotations

from . import (
    _emulate,  # noqa: F401  (registers 'emulate')
    _state,  # noqa: F401  (registers 'state')
    _twin,  # noqa: F401  (registers 'init', 'ingest')
)
from ._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``twinsight`` console script."""
    app(prog_name="twinsight")
