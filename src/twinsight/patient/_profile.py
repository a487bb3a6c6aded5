"""A patient's profile: what the readings do not say (age, cholesterol, regimen, target...).

A small YAML or JSON file (``examples/patient/profile.yaml``), validated: every problem is
reported with its field and a fix. ``regimen`` is the history of treatment, oldest first; its
last entry is the current regimen.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ._model import RegimenChange
from ._prior import Dose, DrugClass

__all__ = [
    "PatientProfile",
    "ProfileError",
    "RegimenEntry",
    "Target",
    "load_profile",
    "parse_profile",
]


class ProfileError(ValueError):
    """A profile file cannot be used; the message names the file, the field and the fix."""


class Target(BaseModel):
    """The blood pressure to stay below (mm Hg)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    systolic: float = Field(130.0, gt=80, lt=200)
    diastolic: float = Field(80.0, gt=40, lt=120)


class RegimenEntry(BaseModel):
    """From ``since`` (ISO 8601 with an offset) the patient takes ``drugs`` (class: dose)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    since: datetime
    drugs: dict[DrugClass, Dose] = Field(default_factory=dict)

    @field_validator("since")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give a UTC offset, e.g. 2026-09-01T08:00:00Z")
        return value


class PatientProfile(BaseModel):
    """Per-patient inputs. Cholesterol in mg/dL; ``race`` as the Pooled Cohort Equations use it
    (``other``: the white equations); ``contraindications``: drug classes never proposed."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    age: float = Field(ge=18, le=110)
    sex: Literal["female", "male"]
    race: Literal["white", "african_american", "other"] = "other"
    total_cholesterol: float | None = Field(None, gt=50, lt=600)
    hdl_cholesterol: float | None = Field(None, gt=5, lt=200)
    smoker: bool = False
    diabetic: bool = False
    target: Target = Target()
    contraindications: list[DrugClass] = Field(default_factory=list)
    max_drugs: int = Field(3, ge=1, le=3)
    regimen: list[RegimenEntry] = Field(default_factory=list)

    def history(self) -> list[RegimenChange]:
        """The regimen as the model's changes, oldest first."""
        entries = sorted(self.regimen, key=lambda e: e.since)
        return [RegimenChange(e.since, dict(e.drugs)) for e in entries]

    def current(self) -> dict[DrugClass, Dose]:
        """The regimen taken now (the last entry; none without a history)."""
        return dict(max(self.regimen, key=lambda e: e.since).drugs) if self.regimen else {}


def parse_profile(data: Any, source: str) -> PatientProfile:
    """A validated profile from parsed YAML/JSON; ``ProfileError`` lists every problem."""
    if not isinstance(data, dict):
        raise ProfileError(f"{source}: a profile is a mapping (age:, sex:, regimen: ...)")
    try:
        return PatientProfile.model_validate(data)
    except ValidationError as exc:
        parts = []
        for err in exc.errors(include_url=False):
            where = ".".join(str(x) for x in err["loc"]) or "<top>"
            parts.append(f"{where}: {str(err['msg']).removeprefix('Value error, ')}")
        raise ProfileError(f"{source}: " + "; ".join(parts)) from None


def load_profile(path: Path) -> PatientProfile:
    """Read and validate a profile file (YAML or JSON)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such profile file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: not a YAML/JSON profile ({exc})") from None
    return parse_profile(data, str(path))
