"""Reproducible run records: store a finished run once, load it, list a twin's runs.

A record holds the spec version (``spec_hash``: SHA-256 of the canonical JSON of the flow spec
that ran), the parameters (the model's values), the data watermark (the state's instant and the
latest ``received_at`` of the events the twin held), the seeds and replications, the Twinsight
version, the request (everything needed to run it again) and the result summary. ``record_run``
writes one row in one transaction, so a run interrupted before it is recorded leaves nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from sqlalchemy import Engine, func, insert, select

from ..govern import audit
from ..spec import FlowSpec
from ..store import AdtEventRow, RunRow, as_utc

__all__ = [
    "KINDS",
    "RunRecord",
    "canonical_json",
    "exact_json",
    "from_exact_json",
    "list_runs",
    "load_run",
    "plain_json",
    "received_watermark",
    "record_run",
    "same_run",
    "spec_hash",
    "twinsight_version",
]

#: The kinds of run recorded.
KINDS = ("forecast", "compare", "optimise")
_TABLE = RunRow.__table__


def twinsight_version() -> str:
    """The installed Twinsight version (``0+unknown`` when not installed as a package)."""
    try:
        return metadata.version("twinsight")
    except metadata.PackageNotFoundError:  # pragma: no cover - source tree without install
        return "0+unknown"


def _clean(value: Any) -> Any:
    """JSON-safe: non-finite floats become None, tuples lists, keys strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def exact_json(value: Any) -> Any:
    """JSON types that keep every value (for parameters a rerun rebuilds from): non-finite
    floats as the strings ``NaN``, ``Infinity``, ``-Infinity``, NumPy scalars as Python
    numbers, tuples as lists, keys as strings. :func:`from_exact_json` undoes it."""
    if hasattr(value, "item") and not isinstance(value, dict | list):
        value = value.item()  # numpy scalars
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): exact_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [exact_json(v) for v in value]
    return value


def from_exact_json(value: Any) -> Any:
    """The values :func:`exact_json` wrote, non-finite floats restored."""
    if isinstance(value, str) and value in _NONFINITE:
        return _NONFINITE[value]
    if isinstance(value, dict):
        return {k: from_exact_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_exact_json(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys (non-finite floats as null): the same value, same text."""
    return json.dumps(_clean(value), sort_keys=True, separators=(",", ":"), allow_nan=False)


def plain_json(value: Any) -> str:
    """JSON in the value's own key order (a model's unit order matters: it is the spec's)."""
    return json.dumps(_clean(value), separators=(",", ":"), allow_nan=False)


def spec_hash(spec: FlowSpec) -> str:
    """SHA-256 (hex) of the canonical JSON of ``spec``: the spec version of a run."""
    # pydantic-core's JSON read back: the same values as model_dump(mode="json"), 5x faster
    data = json.loads(spec.model_dump_json(by_alias=True, exclude_none=True))
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def received_watermark(engine: Engine) -> datetime | None:
    """The latest ``received_at`` of the stored events (None: no events)."""
    with engine.connect() as conn:
        value = conn.execute(select(func.max(AdtEventRow.received_at))).scalar_one_or_none()
    return as_utc(value)


def same_run(
    engine: Engine, kind: str, twin: str, spec: str, request: dict[str, Any]
) -> str | None:
    """The latest run of this twin with this kind, hash (``spec``), request and Twinsight
    version: one that holds these very numbers (an idempotent GET answers with it, storing
    nothing new). None when there is none."""
    query = (
        select(RunRow.run_id)
        .where(RunRow.twin == twin, RunRow.kind == kind, RunRow.spec_hash == spec,
               RunRow.request == plain_json(request), RunRow.version == twinsight_version())
        .order_by(RunRow.id.desc())
        .limit(1)
    )  # fmt: skip
    with engine.connect() as conn:
        found = conn.execute(query).scalar_one_or_none()
    return None if found is None else str(found)


@dataclass(frozen=True)
class RunRecord:
    """A stored run (see the module docstring); JSON columns decoded."""

    run_id: str
    kind: str
    twin: str
    created_at: datetime
    spec_hash: str
    parameters: dict[str, Any]
    data_at: datetime | None
    data_received: datetime | None
    seeds: list[int]
    reps: int
    version: str
    request: dict[str, Any]
    result: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The record as one JSON object (instants in ISO 8601)."""

        def iso(t: datetime | None) -> str | None:
            return None if t is None else t.isoformat()

        return {
            "run_id": self.run_id,
            "kind": self.kind,
            "twin": self.twin,
            "created_at": iso(self.created_at),
            "spec_hash": self.spec_hash,
            "parameters": self.parameters,
            "data_at": iso(self.data_at),
            "data_received": iso(self.data_received),
            "seeds": self.seeds,
            "reps": self.reps,
            "version": self.version,
            "request": self.request,
            "result": self.result,
        }


def record_run(
    engine: Engine,
    *,
    kind: str,
    twin: str,
    request: dict[str, Any],
    result: dict[str, Any],
    spec_hash: str,
    parameters: dict[str, Any] | None = None,
    seeds: Sequence[int] = (),
    reps: int = 0,
    data_at: datetime | None = None,
    data_received: datetime | None = None,
    created_at: datetime | None = None,
) -> str:
    """Store one finished run in one transaction and return its id (12 hex digits).

    ``request`` must hold everything needed to run it again (``twinsight rerun``); ``result``
    the numbers to compare with. Both, and ``parameters``, must be JSON-serialisable
    (non-finite floats are stored as null).
    """
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    run_id = uuid.uuid4().hex[:12]
    values = dict(
        run_id=run_id,
        kind=kind,
        twin=twin,
        created_at=created_at or datetime.now(UTC),
        spec_hash=spec_hash,
        parameters=plain_json(parameters or {}),
        data_at=data_at,
        data_received=data_received,
        seeds=plain_json([int(s) for s in seeds]),
        reps=int(reps),
        version=twinsight_version(),
        request=plain_json(request),
        result=plain_json(result),
    )
    with engine.begin() as conn:
        conn.execute(insert(RunRow).values(**values))
        audit.append_on(conn, actor=audit.cli_actor(), action=kind, target=f"run:{run_id}",
                        detail={"spec_hash": spec_hash, "reps": int(reps)})  # fmt: skip
    return run_id


def _record(row: Any) -> RunRecord:
    return RunRecord(
        run_id=row.run_id,
        kind=row.kind,
        twin=row.twin,
        created_at=row.created_at,
        spec_hash=row.spec_hash,
        parameters=json.loads(row.parameters),
        data_at=row.data_at,
        data_received=row.data_received,
        seeds=json.loads(row.seeds),
        reps=row.reps,
        version=row.version,
        request=json.loads(row.request),
        result=json.loads(row.result),
    )


def load_run(engine: Engine, run_id: str) -> RunRecord:
    """The run with this id; a unique prefix of at least 4 characters is enough.

    Raises ``KeyError`` (with the message to show) when there is none or the prefix is
    ambiguous.
    """
    run_id = run_id.strip().lower()
    if len(run_id) < 4:
        raise KeyError(f"run id '{run_id}' is too short: give at least 4 characters")
    with engine.connect() as conn:
        rows = conn.execute(
            select(_TABLE).where(RunRow.run_id.startswith(run_id, autoescape=True)).limit(3)
        ).all()
    if not rows:
        raise KeyError(f"no run '{run_id}' in this store; 'twinsight runs NAME' lists them")
    if len(rows) > 1:
        raise KeyError(f"run id '{run_id}' is ambiguous: give more characters")
    return _record(rows[0])


def list_runs(
    engine: Engine, twin: str | None = None, kind: str | None = None, limit: int = 100
) -> list[RunRecord]:
    """The latest runs first (of one twin and kind when given)."""
    query = select(_TABLE).order_by(RunRow.created_at.desc(), RunRow.id.desc()).limit(limit)
    if twin is not None:
        query = query.where(RunRow.twin == twin)
    if kind is not None:
        query = query.where(RunRow.kind == kind)
    with engine.connect() as conn:
        return [_record(r) for r in conn.execute(query).all()]
