"""``python -m twinsight.cli`` runs the command line."""

from __future__ import annotations

from . import main

main()
