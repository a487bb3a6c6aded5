"""``rerun``: run a recorded run again and say whether the numbers are identical.

Each kind registers how it is run again (``register_rerunner``): a function of the store's
engine and the record that returns the result (the same JSON shape as the recorded one) and the
hash of the spec that ran. Forecasts and comparisons are registered here; optimisation registers
its own.
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from ..scale import Executor
from ._runs import RunRecord, plain_json, twinsight_version

__all__ = ["RerunReport", "register_rerunner", "rerun"]

#: ``fn(engine, record) -> (result, spec hash)``; one that also takes ``executor=`` runs its
#: replications there when ``rerun`` is given one.
Rerunner = Callable[..., tuple[dict[str, Any], str]]
_RERUNNERS: dict[str, Rerunner] = {}
#: Packages that register the rerunner of a kind when imported.
#: ``KIND/SOURCE`` (the request's ``source``) is looked up before the kind alone.
_PROVIDERS = {"optimise": "twinsight.optimise", "forecast/outbreak": "twinsight.outbreak",
              "compare/outbreak": "twinsight.outbreak", "forecast/patient": "twinsight.patient",
              "compare/patient": "twinsight.patient",
              "forecast/casework": "twinsight.casework._runs",
              "forecast/contact": "twinsight.contact._runs"}  # fmt: skip


def register_rerunner(kind: str, fn: Rerunner) -> None:
    """Make ``rerun`` run records of ``kind`` with ``fn(engine, record) -> (result, spec
    hash)``."""
    _RERUNNERS[kind] = fn


@dataclass
class RerunReport:
    """The outcome of a rerun: identical or not, and where the numbers differ."""

    run_id: str
    kind: str
    identical: bool
    spec_identical: bool
    differences: list[str] = field(default_factory=list)
    recorded_version: str = ""
    version: str = ""

    def to_json(self) -> dict[str, Any]:
        """The report as one JSON object."""
        return {
            "run_id": self.run_id,
            "kind": self.kind,
            "identical": self.identical,
            "spec_identical": self.spec_identical,
            "differences": self.differences,
            "recorded_version": self.recorded_version,
            "version": self.version,
        }


def _diff(a: Any, b: Any, path: str, out: list[str], limit: int = 20) -> None:
    if len(out) >= limit:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            where = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                out.append(f"{where}: only in the {'rerun' if key not in a else 'record'}")
            else:
                _diff(a[key], b[key], where, out, limit)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(x, y, f"{path}[{i}]", out, limit)
    elif a != b:
        out.append(f"{path}: recorded {json.dumps(a)}, now {json.dumps(b)}")


def _takes_executor(fn: Rerunner) -> bool:
    """Whether a rerunner takes ``executor=``."""
    try:
        return "executor" in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # pragma: no cover - a builtin
        return False


def rerun(
    engine: Engine, record: RunRecord, *, executor: Executor | str | None = None
) -> RerunReport:
    """Run ``record`` again and compare the numbers with the recorded ones (exactly).

    ``executor``: where the replications run (``twinsight.scale``; None: in this process). It
    is not part of the record: every executor gives the same numbers."""
    by_source = f"{record.kind}/{record.request.get('source')}"
    kind = by_source if by_source in _RERUNNERS or by_source in _PROVIDERS else record.kind
    if kind not in _RERUNNERS and kind in _PROVIDERS:
        importlib.import_module(_PROVIDERS[kind])  # registers its rerunner on import
    fn = _RERUNNERS.get(kind)
    if fn is None:
        raise ValueError(f"runs of kind '{record.kind}' cannot be run again by this Twinsight")
    if executor is not None and _takes_executor(fn):
        result, ran_hash = fn(engine, record, executor=executor)
    else:
        result, ran_hash = fn(engine, record)
    # the same JSON round trip as the stored result (tuples -> lists, NaN -> null)
    again = json.loads(plain_json(result))
    differences: list[str] = []
    _diff(record.result, again, "", differences)
    return RerunReport(
        run_id=record.run_id,
        kind=record.kind,
        identical=not differences and ran_hash == record.spec_hash,
        spec_identical=ran_hash == record.spec_hash,
        differences=differences,
        recorded_version=record.version,
        version=twinsight_version(),
    )
