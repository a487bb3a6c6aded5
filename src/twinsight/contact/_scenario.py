"""Contact-centre scenarios: the decide package's scenario files, with four contact keys that
are translated into ``set:`` changes of the twin's flow spec (so a comparison is recorded and
rerun like any flow-spec comparison)::

    name: shorter-handle
    description: handle time -10% on every queue
    interventions:
      - handle_time: {factor: 0.9}                 # queues: [billing] (default: all)
      - callback: {share: 0.3, queues: [billing]}  # share of callers called back in idle time
      - callback_offer: {after_seconds: 60, accept: 0.3}  # offered to callers still waiting
      - agents: {queue: billing, change: 2}        # productive agents added to every interval

Other keys (``shift``, ``surge``, ``set``) pass through unchanged.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..decide import Scenario, ScenarioError
from ..spec import FlowSpec
from ._model import scale_dist

__all__ = ["CONTACT_KEYS", "load_contact_scenario"]

CONTACT_KEYS = ("handle_time", "callback", "callback_offer", "agents")


def _queues(value: dict[str, Any], spec: FlowSpec, where: str) -> list[str]:
    known = [a.name for a in spec.arrivals]
    chosen = value.get("queues") or known
    bad = [q for q in chosen if q not in known]
    if bad:
        raise ScenarioError(f"{where}: no queue {', '.join(bad)} (queues: {', '.join(known)})")
    return list(chosen)


def _number(value: dict[str, Any], key: str, where: str, lo: float, hi: float) -> float:
    x = value.get(key)
    if isinstance(x, bool) or not isinstance(x, int | float) or not lo <= x <= hi:
        raise ScenarioError(f"{where}: '{key}' must be a number in [{lo:g}, {hi:g}], got {x!r}")
    return float(x)


def _translate(key: str, value: Any, spec: FlowSpec, where: str) -> dict[str, Any]:
    data = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    if not isinstance(value, dict):
        raise ScenarioError(f"{where}: '{key}' needs a mapping, e.g. {key}: {{...}}")
    allowed = {
        "handle_time": {"factor", "queues"},
        "callback": {"share", "queues"},
        "callback_offer": {"after_seconds", "accept", "queues"},
        "agents": {"queue", "change"},
    }[key]
    extra = set(value) - allowed
    if extra:
        raise ScenarioError(
            f"{where}: unknown field(s) {sorted(extra)} (allowed: {sorted(allowed)})"
        )
    changes: dict[str, Any] = {}
    if key == "handle_time":
        factor = _number(value, "factor", where, 0.05, 5.0)
        for q in _queues(value, spec, where):
            for st in (q, f"{q}_callback"):
                changes[f"stations.{st}.service"] = scale_dist(
                    data["stations"][st]["service"], factor
                )
    elif key == "callback_offer":
        after = _number(value, "after_seconds", where, 1.0, 86400.0)
        accept = _number(value, "accept", where, 0.0, 1.0)
        for q in _queues(value, spec, where):
            cb = f"{q}_callback"
            changes[f"stations.{q}.on_wait"] = {"after": after / 60.0, "p": accept, "to": cb}
            changes[f"stations.{q}.on_wait"]["becomes"] = cb
    elif key == "callback":
        share = _number(value, "share", where, 0.0, 0.99)
        for q in _queues(value, spec, where):
            changes[f"arrivals.{q}.class"] = {q: 1.0 - share, f"{q}_callback": share}
    else:
        q = str(value.get("queue"))
        _queues({"queues": [q]}, spec, where)
        change = value.get("change")
        if isinstance(change, bool) or not isinstance(change, int) or change == 0:
            raise ScenarioError(f"{where}: 'change' must be a whole number of agents, not 0")
        res = copy.deepcopy(data["resources"][f"agents_{q}"])
        if "schedule" in res:
            for step in res["schedule"]["steps"]:
                step["capacity"] = max(0, step["capacity"] + change)
        else:
            res["capacity"] = max(0, res["capacity"] + change)
        changes[f"resources.agents_{q}"] = res
    return {"set": changes}


def load_contact_scenario(path: str | Path, spec: FlowSpec) -> Scenario:
    """A scenario file read against the twin's flow ``spec``: the contact keys become ``set:``
    changes; raises ``ScenarioError`` naming the file, the intervention and the fix."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{p}: cannot read the scenario ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("interventions"), list):
        raise ScenarioError(f"{p}: a scenario is a mapping with name, description, interventions")
    out = []
    for i, iv in enumerate(data["interventions"]):
        where = f"{p}: intervention {i + 1}"
        if isinstance(iv, dict) and len(iv) == 1 and next(iter(iv)) in CONTACT_KEYS:
            key, value = next(iter(iv.items()))
            out.append(_translate(key, value, spec, where))
        else:
            out.append(iv)
    try:
        return Scenario.model_validate({**data, "interventions": out})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        at = ".".join(map(str, first["loc"]))
        raise ScenarioError(
            f"{p}: {at}: {first['msg']} (contact keys: {', '.join(CONTACT_KEYS)}; "
            "others: shift, surge, set)"
        ) from None
