"""Contact-centre forecasts as reproducible run records (``twinsight rerun``).

A forecast record (``decide._runs``, kind ``forecast``, ``request["source"] == "contact"``)
holds:

- ``spec_hash``: SHA-256 of the canonical JSON of the model's name, the calibration (arrival
  table, handle and patience fits, satisfaction model), the twin's ``contact:`` settings and
  the productive agents per queue and interval that staffed it (plan or roster), so a changed
  calibration, setting or staffing is another version;
- ``parameters``: that calibration and those settings (exact: non-finite floats kept as the
  strings ``NaN``, ``Infinity``);
- the data watermark: ``data_at`` the calibration's last interaction, ``data_received`` the
  latest ``received_at`` of the stored interactions and ``request["ingest_id"]`` the latest
  ingest that stored one;
- ``seeds`` (one seed), ``reps``, the Twinsight version, the request (days, reps, seed, the
  staffing method, what staffed it and the agents) and the result (every mean and half-width).

``rerun`` rebuilds the model from the record (a later re-calibration or roster change does not
change a rerun) and runs the week again with the recorded agents and seed. The comparison
(``twinsight compare NAME SCENARIO...``) is recorded by ``_ops`` as a flow-spec comparison.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from ..decide._rerun import register_rerunner
from ..decide._runs import (
    RunRecord,
    canonical_json,
    exact_json,
    from_exact_json,
    record_run,
    same_run,
)
from ..scale import Executor
from ..store import InteractionRow, rows_watermark
from ._calibrate import ContactCalibration
from ._model import ContactModel, ContactSettings

__all__ = [
    "SOURCE",
    "contact_watermark",
    "model_hash",
    "model_parameters",
    "record_contact_forecast",
    "rerun_contact_forecast",
]

#: ``request["source"]`` of contact-centre forecasts (``decide._rerun`` finds the rerunner).
SOURCE = "contact"
_MODEL = "twinsight.contact.ContactModel"


def model_parameters(model: ContactModel) -> dict[str, Any]:
    """The calibration and the settings as exact JSON types: a run's parameters."""
    out: dict[str, Any] = exact_json({
        "calibration": model.calibration.to_dict(),
        "settings": model.settings.model_dump(mode="json"),
        "handle_factor": dict(model.handle_factor),
    })  # fmt: skip
    return out


def model_hash(model: ContactModel, agents: dict[str, list[int]]) -> str:
    """SHA-256 (hex) of the model's name, calibration, settings and staffing."""
    staffing = {q: [int(n) for n in v] for q, v in agents.items()}
    text = canonical_json(
        {"model": _MODEL, "parameters": model_parameters(model), "agents": staffing}
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def contact_watermark(engine: Engine) -> tuple[int | None, datetime | None]:
    """The latest ingest that stored an interaction (its id) and the latest ``received_at``
    (None, None: none stored)."""
    return rows_watermark(engine, InteractionRow)


def record_contact_forecast(
    engine: Engine,
    twin: str,
    model: ContactModel,
    agents: dict[str, list[int]],
    result: dict[str, Any],
    *,
    method: str,
    reuse: bool = False,
) -> str:
    """Store a finished forecast (``result``: ``forecast_numbers``'s) as a run; its id.
    ``reuse``: the id of the same run stored before (same hash, request, version), if any."""
    ingest_id, received = contact_watermark(engine)
    request = {
        "source": SOURCE,
        "days": result["days"],
        "reps": result["reps"],
        "seed": result["seed"],
        "method": method,
        "staffed_by": result["staffed_by"],
        "agents": {q: [int(n) for n in v] for q, v in agents.items()},
        "ingest_id": ingest_id,
    }
    version = model_hash(model, agents)
    if reuse and (same := same_run(engine, "forecast", twin, version, request)):
        return same
    body = {k: v for k, v in result.items() if k != "run_id"}
    return record_run(
        engine,
        kind="forecast",
        twin=twin,
        request=request,
        result=body,
        spec_hash=version,
        parameters=model_parameters(model),
        seeds=[int(result["seed"])],
        reps=int(result["reps"]),
        data_at=model.calibration.last,
        data_received=received,
    )


def rerun_contact_forecast(
    engine: Engine, record: RunRecord, executor: Executor | str | None = None
) -> tuple[dict[str, Any], str]:
    """``twinsight rerun`` of a contact-centre forecast: (result, model hash), its
    replications on ``executor`` (any: the numbers do not depend on it)."""
    from ._ops import forecast_numbers

    req, params = record.request, from_exact_json(record.parameters)
    cal = ContactCalibration.from_dict(params["calibration"])
    settings = ContactSettings.model_validate(params["settings"])
    factor = {str(q): float(f) for q, f in params.get("handle_factor", {}).items()}
    model = ContactModel(cal, settings, factor or {q: 1.0 for q in cal.queues})
    agents = {str(q): [int(n) for n in v] for q, v in req["agents"].items()}
    out = forecast_numbers(model, agents, str(req["staffed_by"]), float(req["days"]),
                           reps=int(req["reps"]), seed=int(req["seed"]),
                           executor=executor)  # fmt: skip
    return out, model_hash(model, agents)


register_rerunner(f"forecast/{SOURCE}", rerun_contact_forecast)
