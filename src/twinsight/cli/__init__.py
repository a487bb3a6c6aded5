"""The ``twinsight`` command line: validate a spec, export its schema, simulate, run the demo.

Commands are thin; the work lives in small modules (``_output`` for messages and exit codes,
``_table`` for the KPI table, ``_simulate`` for running an experiment with a progress bar).
Every private module of this package is imported here, so a module registers its commands on
``app`` by defining them (one module per command family: ``_twin`` for init and ingest, ...).
"""

from __future__ import annotations

import importlib
import pkgutil

from ._app import app

__all__ = ["app", "main"]

for _module in pkgutil.iter_modules(__path__):
    if _module.name.startswith("_") and _module.name != "__main__":
        importlib.import_module(f"{__name__}.{_module.name}")


def main() -> None:
    """Entry point of the ``twinsight`` console script."""
    app(prog_name="twinsight")
