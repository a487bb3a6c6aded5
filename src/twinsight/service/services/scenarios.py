"""The dashboard's scenarios: the twin's saved scenarios with the intervention library, saving
one from a form, comparing scenarios with the baseline (common random numbers, recorded as a
run), and the twin's runs. Blocking: run in a worker thread."""

from __future__ import annotations

import os
from typing import Any

import yaml
from pydantic import ValidationError

from ...decide import (
    Intervention,
    Scenario,
    compare_hospital,
    list_runs,
    list_scenarios,
    load_scenario,
    scenario_path,
)
from ..problems import ProblemError
from ..schemas_dashboard import CompareRequest, RunList, RunSummary, ScenarioList
from .registry import TwinHandle

__all__ = [
    "compare_job",
    "intervention_library",
    "resolve_scenarios",
    "run_list",
    "save_scenario_body",
    "scenario_list",
]


def intervention_library() -> dict[str, dict[str, Any]]:
    """Each intervention kind (YAML key) and the JSON schema of its parameters."""
    schema = Intervention.model_json_schema(by_alias=True)
    defs = schema.get("$defs", {})
    out: dict[str, dict[str, Any]] = {}
    for key, prop in schema["properties"].items():
        options = prop.get("anyOf", [prop])
        ref = next((o["$ref"] for o in options if "$ref" in o), None)
        if ref is not None:
            out[key] = defs[ref.rsplit("/", 1)[-1]]
        else:
            out[key] = {"type": "object", "description": "any field of the flow spec: value"}
    return out


def scenario_list(handle: TwinHandle) -> ScenarioList:
    """The twin's scenarios (as JSON) and the intervention library."""
    found = list_scenarios(handle.twin.path)
    return ScenarioList(
        twin=handle.twin.name,
        scenarios=[s.to_json() for s in found],
        interventions=intervention_library(),
    )


def _invalid(exc: ValidationError) -> ProblemError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "the scenario"
    return ProblemError(
        422,
        "invalid-scenario",
        "Invalid scenario",
        f"{where}: {first['msg']} ({len(exc.errors())} problem(s)); fix the form and send again",
    )


def parse_body(body: dict[str, Any]) -> Scenario:
    """A scenario from JSON (422 problem naming the first bad field)."""
    try:
        return Scenario.model_validate(body)
    except ValidationError as exc:
        raise _invalid(exc) from None


def save_scenario_body(handle: TwinHandle, body: dict[str, Any], replace: bool) -> Scenario:
    """Validate and keep the scenario with the twin as YAML (409 if it exists, not ``replace``)."""
    scenario = parse_body(body)
    target = scenario_path(handle.twin.path, scenario.name)
    if target.exists() and not replace:
        raise ProblemError(
            409,
            "scenario-exists",
            "Scenario exists",
            f"the twin already has a scenario '{scenario.name}': choose another name or send "
            "?replace=true",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(yaml.safe_dump(scenario.to_json(), sort_keys=False), encoding="utf-8")
    os.replace(tmp, target)
    return scenario


def resolve_scenarios(handle: TwinHandle, wanted: list[str | dict[str, Any]]) -> list[Scenario]:
    """Scenarios by name (the twin's) or given whole (404 / 422 problems)."""
    out = []
    for item in wanted:
        if isinstance(item, dict):
            out.append(parse_body(item))
            continue
        path = scenario_path(handle.twin.path, item) if "/" not in item else None
        if path is None or not path.is_file():
            raise ProblemError(
                404,
                "scenario-not-found",
                "Scenario not found",
                f"the twin has no scenario '{item}': GET .../scenarios lists them",
            )
        out.append(load_scenario(path))
    return out


def compare_job(
    handle: TwinHandle, scenarios: list[Scenario], request: CompareRequest
) -> dict[str, Any]:
    """Compare the scenarios with the baseline from the twin's present; recorded as a run."""
    comp, run_id = compare_hospital(
        handle.twin, scenarios, days=request.days, reps=request.reps, seed=request.seed
    )
    return {"run_id": run_id, **comp.to_json()}


def _names(items: list[Any]) -> list[str]:
    return [str(s.get("name")) for s in items if isinstance(s, dict)]


def run_list(handle: TwinHandle, limit: int = 50, kind: str | None = None) -> RunList:
    """The twin's latest runs first (without their results)."""
    found = list_runs(handle.twin.engine, twin=handle.twin.name, kind=kind, limit=limit)
    return RunList(
        twin=handle.twin.name,
        runs=[
            RunSummary(
                run_id=r.run_id,
                kind=r.kind,
                created_at=r.created_at,
                data_at=r.data_at,
                reps=r.reps,
                seeds=list(r.seeds),
                version=r.version,
                days=r.request.get("days"),
                scenarios=_names(r.request.get("scenarios", [])),
            )
            for r in found
        ],
    )
