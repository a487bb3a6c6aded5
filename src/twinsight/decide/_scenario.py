"""Scenarios: a named, described list of typed interventions, read from YAML and kept with a
twin in ``<twin>/scenarios/<name>.yaml``.

Interventions (one key per list item)::

    beds: {unit: MED1, change: 6}                 # or capacity: 40 (hospital twins)
    shift: {resource: ED_doctors, extra: 2, from: "14:00", to: "22:00"}   # every day
    discharge_before_noon: {share: 0.3}           # units: [MED1] optional
    shorter_stays: {unit: MED1, factor: 0.9}      # unit: all for every unit; ED for the ED
    divert: {share: 0.1}                          # of ED arrivals, to another hospital
    surge: {percent: 20, days: 3, from_day: 0}    # more ED arrivals for a while
    set: {stations.ED.discipline: fifo}           # any field of the flow spec that runs

Every model forbids unknown fields; a misspelt one is reported with the closest allowed name
and its place in the file (line:column).
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..spec import Problem, SpecError
from ..spec._explain import _step
from ..spec._problems import locate

__all__ = [
    "SCENARIOS_DIR",
    "Beds",
    "DischargeBeforeNoon",
    "Divert",
    "Intervention",
    "Scenario",
    "Shift",
    "ShorterStays",
    "Surge",
    "list_scenarios",
    "load_scenario",
    "parse_scenario",
    "resolve_scenario",
    "save_scenario",
    "scenario_path",
]

SCENARIOS_DIR = "scenarios"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_FROZEN = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Beds(BaseModel):
    """Open (``change`` > 0) or close (< 0) beds on a unit, or set its ``capacity``."""

    model_config = _FROZEN
    unit: str
    change: int | None = None
    capacity: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one(self) -> Beds:
        if (self.change is None) == (self.capacity is None):
            raise ValueError("give exactly one of 'change' (beds opened, - closed) or 'capacity'")
        return self


class Shift(BaseModel):
    """``extra`` more of a resource (clinicians, cubicles, beds) every day ``from``-``to``
    (HH:MM; may wrap past midnight); negative ``extra`` removes them."""

    model_config = _FROZEN
    resource: str
    extra: int
    start: str = Field(alias="from")
    end: str = Field(alias="to")

    @model_validator(mode="after")
    def _valid(self) -> Shift:
        from ..spec import parse_time_of_day

        if self.extra == 0:
            raise ValueError("'extra' is 0: the shift would change nothing")
        if parse_time_of_day(self.start) == parse_time_of_day(self.end):
            raise ValueError("'from' and 'to' are equal; the shift would be empty")
        return self


class DischargeBeforeNoon(BaseModel):
    """A ``share`` of the discharges that now happen after noon happen between 10:00 and
    noon instead, on ``units`` (default: every unit)."""

    model_config = _FROZEN
    share: float = Field(gt=0.0, le=1.0)
    units: list[str] | None = None


class ShorterStays(BaseModel):
    """Every stay on ``unit`` (``all``: every inpatient unit; ``ED``: ED times) multiplied by
    ``factor`` (0.9: 10% shorter; the distribution keeps its shape)."""

    model_config = _FROZEN
    unit: str
    factor: float = Field(gt=0.0, le=5.0)


class Divert(BaseModel):
    """A ``share`` of ED arrivals goes to another hospital (all the time)."""

    model_config = _FROZEN
    share: float = Field(ge=0.0, lt=1.0)


class Surge(BaseModel):
    """Arrivals ``percent`` % higher for ``days`` days from ``from_day`` days after the start
    (negative: a lull, over the whole run only), on the arrival ``streams`` named (default:
    ``ed`` on a hospital twin, every Poisson stream on a flow spec)."""

    model_config = _FROZEN
    percent: float = Field(gt=-100.0)
    days: float = Field(gt=0.0)
    from_day: float = Field(default=0.0, ge=0.0)
    streams: list[str] | None = None


class Intervention(BaseModel):
    """One change; exactly one of the keys."""

    model_config = _FROZEN
    beds: Beds | None = None
    shift: Shift | None = None
    discharge_before_noon: DischargeBeforeNoon | None = None
    shorter_stays: ShorterStays | None = None
    divert: Divert | None = None
    surge: Surge | None = None
    set_: dict[str, Any] | None = Field(default=None, alias="set")

    @model_validator(mode="after")
    def _one(self) -> Intervention:
        given = [k for k in self.kinds() if getattr(self, _attr(k)) is not None]
        if len(given) != 1:
            raise ValueError(
                f"each intervention is one of {', '.join(self.kinds())}; this one has "
                f"{len(given) or 'none'}{': ' + ', '.join(given) if given else ''}"
            )
        return self

    @staticmethod
    def kinds() -> list[str]:
        """The intervention keys, YAML spelling."""
        return [info.alias or name for name, info in Intervention.model_fields.items()]

    @property
    def kind(self) -> str:
        """Which intervention this is (its key)."""
        return next(k for k in self.kinds() if getattr(self, _attr(k)) is not None)

    @property
    def value(self) -> Any:
        """The intervention's parameters."""
        return getattr(self, _attr(self.kind))

    def describe(self) -> str:
        """One line: the key and its parameters."""
        v = self.value
        if isinstance(v, BaseModel):
            fields = v.model_dump(by_alias=True, exclude_none=True)
            return f"{self.kind}: " + ", ".join(f"{k}={x}" for k, x in fields.items())
        return f"{self.kind}: " + ", ".join(f"{k}={x}" for k, x in v.items())


def _attr(key: str) -> str:
    return "set_" if key == "set" else key


class Scenario(BaseModel):
    """A named, described set of changes to a twin."""

    model_config = _FROZEN
    name: str
    description: str = ""
    interventions: list[Intervention] = Field(min_length=1)

    @model_validator(mode="after")
    def _name(self) -> Scenario:
        if not _NAME.match(self.name):
            raise ValueError(
                f"name {self.name!r}: use letters, digits, '_', '.' or '-' (at most 64), "
                "starting with a letter or digit"
            )
        return self

    def to_json(self) -> dict[str, Any]:
        """The scenario as plain JSON (what a run record keeps)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    candidates: list[Any] = [Scenario]
    for key in loc:
        stepped: list[Any] = []
        for t in candidates:
            stepped += _step(t, key)
        candidates = stepped or candidates
    names: list[str] = []
    for t in candidates:
        if isinstance(t, type) and issubclass(t, BaseModel):
            names += [info.alias or n for n, info in t.model_fields.items()]
    return list(dict.fromkeys(names))


def _problems(exc: ValidationError, node: yaml.Node | None) -> list[Problem]:
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind, msg = str(err["type"]), str(err["msg"]).removeprefix("Value error, ")
        field = str(loc[-1]) if loc else ""
        if kind == "extra_forbidden":
            allowed = _fields_at(loc[:-1])
            close = difflib.get_close_matches(field, allowed, n=1, cutoff=0.6)
            msg = f"unknown field '{field}'" + (
                f"; did you mean '{close[0]}'?"
                if close
                else f"; remove it or check the spelling (allowed here: {', '.join(allowed)})"
            )
        elif kind == "missing":
            msg = f"required field '{field}' is missing; add it"
        line, col = locate(node, loc, key=kind == "extra_forbidden")
        out.append(Problem(".".join(map(str, loc)), msg, line, col))
    return out


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """A validated scenario from YAML text; raises ``SpecError`` listing every problem."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = getattr(exc, "problem", None) or exc
        raise SpecError(
            source, [Problem("", f"malformed YAML: {what}; check indentation and colons", line)]
        ) from None
    if not isinstance(data, dict):
        raise SpecError(
            source, [Problem("", "a scenario is a mapping: name, description, interventions", 1)]
        )
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise SpecError(source, _problems(exc, node)) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (``SpecError`` for a missing file or any problem)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not readable UTF-8 text"
        raise SpecError(str(p), [Problem("", f"cannot read the file ({reason})")]) from None
    return parse_scenario(text, str(p))


def scenario_path(twin_dir: Path, name: str) -> Path:
    """Where a twin keeps scenario ``name``."""
    return twin_dir / SCENARIOS_DIR / f"{name}.yaml"


def save_scenario(twin_dir: Path, path: str | Path, *, replace: bool = False) -> Scenario:
    """Validate the scenario file at ``path`` and keep its text with the twin (atomic write);
    ``FileExistsError`` if one of that name exists and not ``replace``."""
    scenario = load_scenario(path)
    target = scenario_path(twin_dir, scenario.name)
    if target.exists() and not replace:
        raise FileExistsError(
            f"the twin already has a scenario '{scenario.name}'; use --replace to overwrite it"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(Path(path).read_text(encoding="utf-8"), encoding="utf-8")
    os.replace(tmp, target)
    return scenario


def list_scenarios(twin_dir: Path) -> list[Scenario]:
    """The twin's scenarios, by name."""
    folder = twin_dir / SCENARIOS_DIR
    if not folder.is_dir():
        return []
    return [load_scenario(p) for p in sorted(folder.glob("*.yaml"))]


def resolve_scenario(twin_dir: Path, item: str | Path | Scenario) -> Scenario:
    """A ``Scenario`` as given, a scenario kept with the twin by name, or a scenario file
    (``ValueError`` naming the stored ones when it is none of them)."""
    if isinstance(item, Scenario):
        return item
    stored = scenario_path(twin_dir, str(item))
    if _NAME.match(str(item)) and stored.is_file():
        return load_scenario(stored)
    if Path(item).is_file():
        return load_scenario(item)
    names = sorted(p.stem for p in (twin_dir / SCENARIOS_DIR).glob("*.yaml"))
    where = close_names(str(item), names) if names else " (the twin has none)"
    raise ValueError(f"no scenario '{item}' kept with the twin and no such file{where}")


def close_names(name: str, names: list[str]) -> str:
    """``; did you mean 'X'? (there are: a, b, c)`` for a name not among ``names``."""
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"{hint} (there are: {', '.join(names)})"
