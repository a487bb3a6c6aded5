"""The hospital twin's part of a run record: the model's parameters as JSON and back, and the
present rebuilt from the data the twin held at a watermark.

A rerun must not re-calibrate (the calibration may have changed since) nor see events that
arrived after the run: it rebuilds ``HospitalModel`` from the recorded parameters and the state
from the events with ``received_at`` at or before the recorded watermark.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select

from ..assimilate import HospitalState, current_state
from ..forecast import HospitalModel
from ..forecast import _model as model_module
from ..store import AdtEventRow, IngestRow, open_store

__all__ = ["model_from_params", "model_params", "state_as_of"]

_FIELDS = {f.name for f in dataclasses.fields(HospitalModel)}
#: Marks a nested dataclass of the model (``UnitModel``, ...) by its class name.
_TYPE = "__type__"


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return (
            fields if isinstance(value, HospitalModel) else {_TYPE: type(value).__name__, **fields}
        )
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):  # a NumPy scalar
        return value.item()
    return value


def _revive(value: Any) -> Any:
    """Nested dataclasses back from their ``__type__`` (classes of the model's module)."""
    if isinstance(value, dict):
        items = {k: _revive(v) for k, v in value.items() if k != _TYPE}
        if _TYPE not in value:
            return items
        cls = getattr(model_module, str(value[_TYPE]), None)
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise ValueError(f"the recorded model names an unknown part '{value[_TYPE]}'")
        return cls(**items)
    if isinstance(value, list):
        return [_revive(v) for v in value]
    return value


def model_params(model: HospitalModel) -> dict[str, Any]:
    """Every field of ``model`` as plain JSON values (nested parts such as units as dicts with
    their class name under ``__type__``)."""
    out = _plain(model)
    assert isinstance(out, dict)
    return out


def model_from_params(params: dict[str, Any]) -> HospitalModel:
    """The model ``model_params`` described (raises ``ValueError`` for unknown fields: a
    record from a newer Twinsight)."""
    unknown = set(params) - _FIELDS
    if unknown:
        raise ValueError(
            f"the recorded model has fields this Twinsight does not know: {sorted(unknown)}; "
            "rerun with the version that recorded it"
        )
    values = {k: _revive(v) for k, v in params.items()}
    for f in dataclasses.fields(HospitalModel):  # tuples were written as lists
        if f.name in values and isinstance(f.default, tuple):
            values[f.name] = tuple(values[f.name])
    return HospitalModel(**values)


@contextmanager
def _store_as_of(engine: Engine, received: datetime) -> Iterator[Engine]:
    """A temporary SQLite store with the events received at or before ``received`` (and every
    ingest row, which they reference); the live store when nothing arrived later."""
    with engine.connect() as conn:
        later = conn.execute(
            select(func.count()).select_from(AdtEventRow).where(AdtEventRow.received_at > received)
        ).scalar_one()
    if not later:
        yield engine
        return
    with tempfile.TemporaryDirectory(prefix="twinsight-asof-") as folder:
        copy = open_store(Path(folder) / "asof.db")
        try:
            ingests = IngestRow.__table__
            events = AdtEventRow.__table__
            with engine.connect() as src, copy.begin() as dst:
                rows = [dict(r._mapping) for r in src.execute(select(ingests))]
                if rows:
                    dst.execute(insert(IngestRow), rows)
                query = select(events).where(AdtEventRow.received_at <= received)
                result = src.execution_options(stream_results=True, yield_per=20_000).execute(query)
                for part in result.partitions():
                    dst.execute(insert(AdtEventRow), [dict(r._mapping) for r in part])
            yield copy
        finally:
            copy.dispose()


def state_as_of(engine: Engine, at: datetime, received: datetime | None) -> HospitalState:
    """The state at ``at`` from the events received at or before ``received`` (all events when
    None), as ``current_state(recent_only=True)`` computed it then."""
    if received is None:
        return current_state(engine, at, recent_only=True)
    with _store_as_of(engine, received) as store:
        return current_state(store, at, recent_only=True)
