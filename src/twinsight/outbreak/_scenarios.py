"""Outbreak scenarios: measures that change contacts from a day, against the baseline.

A scenario adds measures to the twin's own (``outbreak.measures``) from a day of the forecast
(day 1 = the day after the last calibrated day; or a date): contacts, so ``R0``, are multiplied
by ``contact_factor`` from that day on (``1 - reduction``: "distancing 30% from day 10" is
``{day: 10, contact_factor: 0.7}``); measures compound.

Written as a YAML file (``name``, ``description``, ``measures: [{day | date, contact_factor |
reduction, name}]``), stored in the twin's ``scenarios/NAME.yaml``, or inline as
``NAME=30%@10`` (a 30% reduction from day 10; several with commas: ``30%@10,10%@40``).

``compare_outbreak`` runs the baseline and every scenario over ``days`` days with ``reps``
paired runs: run ``i`` of every variant has the same parameter draw, the same present state
and, ``mode="stochastic"``, the same random stream on each day of the binomial chain (common
random numbers; ``common=False`` gives every variant its own seed instead). ``mode=
"deterministic"`` solves the model's own equations (``difference`` or ``ode``, the twin's
``method``) for each parameter draw: the differences are then the equations' differences
exactly; ``parameter_uncertainty=False`` uses the estimates in every run. KPIs per run: peak
beds, peak ICU beds (patients), admissions over the horizon, and with a configured capacity the
days over it (beds; ICU). Paired differences, intervals and sentences are those of
``twinsight.decide`` (``Comparison``).

The runs of a variant are computed in blocks of 64 (``compartments.BLOCK``): block ``b`` draws
its parameter sets and its daily streams from its own ``SeedSequence`` children, so run ``i``
is the same whatever the number of runs, and the blocks of every variant are jobs of any
executor (``executor=``: ``twinsight.scale``) with the same numbers on each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from datetime import date as Day
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..compartments import Intervention, simulate_stochastic
from ..compartments._ensemble import BLOCK, BlockTask, block_rng, run_blocks
from ..decide import Comparison
from ..decide._compare import KpiDef, Variant
from ..engines import RepResult
from ..scale import Executor
from ..spec import FlowSpec
from ._calibrate import OutbreakCalibration
from ._forecast import equations_ahead, present_state
from ._template import SEIR_HOSPITAL, interventions

__all__ = [
    "OutbreakComparison",
    "OutbreakScenario",
    "OutbreakScenarioError",
    "ScenarioMeasure",
    "compare_outbreak",
    "parse_outbreak_scenario",
]

Mode = Literal["stochastic", "deterministic"]
_INLINE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*@\s*(\d+)\s*$")


class OutbreakScenarioError(ValueError):
    """A scenario that cannot be read: the message names the file or text and the fix."""


class ScenarioMeasure(BaseModel):
    """Contacts multiplied by ``contact_factor`` (or by ``1 - reduction``) from forecast day
    ``day`` (1 = the first forecast day) or from ``date``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    day: int | None = Field(default=None, ge=1)
    date: Day | None = None
    contact_factor: float | None = Field(default=None, gt=0, le=3)
    reduction: float | None = Field(default=None, ge=0, lt=1)
    name: str | None = None

    @model_validator(mode="after")
    def _one_each(self) -> ScenarioMeasure:
        if (self.day is None) == (self.date is None):
            raise ValueError("give exactly one of 'day' (1 = first forecast day) or 'date'")
        if (self.contact_factor is None) == (self.reduction is None):
            raise ValueError("give exactly one of 'contact_factor' or 'reduction' (0.3 = 30%)")
        return self

    @property
    def factor(self) -> float:
        """The contact factor (1 - reduction)."""
        return (
            self.contact_factor if self.contact_factor is not None else 1.0 - (self.reduction or 0)
        )

    def offset(self, watermark: Day) -> int:
        """Days after the last calibrated day when the measure starts (day 1 -> 0)."""
        if self.day is not None:
            return self.day - 1
        assert self.date is not None
        return (self.date - watermark).days - 1

    def describe(self) -> str:
        """``distancing: contacts x0.7 from day 10``."""
        when = f"day {self.day}" if self.day is not None else str(self.date)
        what = f"contacts x{self.factor:.3g}"
        return f"{self.name + ': ' if self.name else ''}{what} from {when}"


class OutbreakScenario(BaseModel):
    """A named set of measures added to the baseline."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    description: str = ""
    measures: list[ScenarioMeasure] = Field(min_length=1)

    def interventions(self, watermark: date) -> list[Intervention]:
        """The measures as interventions on ``R0``, days after the last calibrated day."""
        return [Intervention("R0", float(m.offset(watermark)), m.factor) for m in self.measures]


def parse_outbreak_scenario(arg: str, folder: Path | None = None) -> OutbreakScenario:
    """A scenario from ``arg``: a stored name (``folder/NAME.yaml``), a YAML file, or inline
    ``NAME=30%@10[,10%@40]``."""
    stored = folder / f"{arg}.yaml" if folder is not None else None
    path = stored if stored is not None and stored.is_file() else Path(arg)
    if path.is_file():
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise OutbreakScenarioError(f"{path}: cannot read ({exc})") from None
        if isinstance(data, dict):
            data.setdefault("name", path.stem)
        return _validate(data, str(path))
    if "=" not in arg:
        raise OutbreakScenarioError(
            f"no scenario '{arg}': give a YAML file, a stored name, or NAME=30%@10 "
            "(a 30% cut in contacts from forecast day 10)"
        )
    name, _, text = arg.partition("=")
    measures = []
    for part in text.split(","):
        m = _INLINE.match(part)
        if m is None:
            raise OutbreakScenarioError(
                f"scenario '{arg}': '{part}' is not REDUCTION%@DAY (e.g. 30%@10)"
            )
        measures.append({"day": int(m.group(2)), "reduction": float(m.group(1)) / 100.0})
    described = ", ".join(f"{p.strip()}" for p in text.split(","))
    return _validate(
        {"name": name.strip(), "description": f"{name.strip()} (contacts -{described})",
         "measures": measures}, arg)  # fmt: skip


def _validate(data: Any, where: str) -> OutbreakScenario:
    try:
        return OutbreakScenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(top)"
        raise OutbreakScenarioError(
            f"{where}: {loc}: {err['msg']} (a scenario is name, description, "
            "measures: [{day: 10, reduction: 0.3}])"
        ) from None


@dataclass
class OutbreakComparison(Comparison):
    """A ``Comparison`` of outbreak variants (no flow spec); ``measures`` per scenario."""

    measures: dict[str, list[str]] = field(default_factory=dict)
    mode: str = "stochastic"
    days: int = 0
    common: bool = True
    #: The id of its run record (``twinsight rerun``); None when not recorded.
    run_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """``Comparison.to_json`` with each scenario's measures as its interventions."""
        out = super().to_json()
        for sc in out["scenarios"]:
            sc["interventions"] = self.measures.get(sc["name"], [])
        out.update(
            kind="outbreak", mode=self.mode, days=self.days, common_random_numbers=self.common
        )
        return out


def _kpis(cal: OutbreakCalibration) -> list[KpiDef]:
    out = [
        KpiDef("peak_beds", "peak beds in use", "patients"),
        KpiDef("peak_icu", "peak ICU beds in use", "patients"),
        KpiDef("admissions", "admissions over the horizon", "patients"),
    ]
    cap = cal.config.capacity
    if cap is not None and cap.beds is not None:
        out.append(KpiDef("days_over_beds", f"days over {cap.beds} beds", "days"))
    if cap is not None and cap.icu is not None:
        out.append(KpiDef("days_over_icu", f"days over {cap.icu} ICU beds", "days"))
    return out


def _run(
    cal: OutbreakCalibration,
    params: dict[str, np.ndarray],
    present: np.ndarray,
    ivs: list[Intervention],
    days: int,
    mode: Mode,
    seed: int,
    reps: int,
    block: int = 0,
) -> dict[str, np.ndarray]:
    if mode == "deterministic":
        traj = equations_ahead(cal, params, present, ivs, days)
    else:

        def day_rng(t: int) -> np.random.Generator:
            return block_rng([seed, 1, t], block)

        rng = block_rng([seed, 0], block)
        traj = simulate_stochastic(SEIR_HOSPITAL, params, days, reps, rng, interventions=ivs,
                                   x0=present, day_rng=day_rng)  # fmt: skip
    beds = traj.compartment("H", "C", "V")[:, 1:]
    icu = traj.compartment("C", "V")[:, 1:]
    out = {
        "peak_beds": beds.max(axis=1),
        "peak_icu": icu.max(axis=1),
        "admissions": traj.flow("I->H").sum(axis=1),
    }
    cap = cal.config.capacity
    if cap is not None and cap.beds is not None:
        out["days_over_beds"] = (beds > cap.beds).sum(axis=1).astype(float)
    if cap is not None and cap.icu is not None:
        out["days_over_icu"] = (icu > cap.icu).sum(axis=1).astype(float)
    return out


@dataclass(frozen=True)
class _VariantRuns(BlockTask):
    """The paired runs of one variant, a block at a time (a ``twinsight.scale`` task): run
    ``i`` of every variant with the same ``seed`` has the same parameter draw, present state
    and daily streams. Each run's KPIs as a ``RepResult``."""

    cal: OutbreakCalibration
    ivs: tuple[Intervention, ...]
    days: int
    mode: Mode
    seed: int
    parameter_uncertainty: bool

    def block(self, b: int) -> list[RepResult]:
        """The ``BLOCK`` runs of block ``b``."""
        if self.parameter_uncertainty:
            params = self.cal.draws(BLOCK, block_rng([self.seed, 2], b))
        else:
            params = {k: np.full(BLOCK, x) for k, x in self.cal.params().items()}
        present = present_state(self.cal, params)
        values = _run(self.cal, params, present, list(self.ivs), self.days, self.mode,
                      self.seed, BLOCK, b)  # fmt: skip
        return [RepResult({k: float(v[j]) for k, v in values.items()}) for j in range(BLOCK)]


def compare_outbreak(
    cal: OutbreakCalibration,
    scenarios: list[OutbreakScenario],
    *,
    days: int = 60,
    reps: int = 200,
    seed: int = 1,
    mode: Mode = "stochastic",
    common: bool = True,
    parameter_uncertainty: bool = True,
    confidence: float = 0.95,
    executor: Executor | str | None = None,
    workers: int | None = None,
) -> OutbreakComparison:
    """The baseline and ``scenarios`` over ``days`` days from the calibration's last day,
    ``reps`` paired runs each (see the module docstring); the blocks of runs are jobs of
    ``executor`` (None and ``auto``: here; the numbers are the same on every executor)."""
    if not 1 <= days <= 365:
        raise ValueError("days must be 1-365")
    if reps < 2:
        raise ValueError("reps must be >= 2 for a paired interval")
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names) or "baseline" in names:
        raise ValueError("scenario names must be distinct and not 'baseline'")
    for sc in scenarios:
        for m in sc.measures:
            if m.offset(cal.watermark) < 0:
                raise ValueError(
                    f"scenario '{sc.name}': a measure from {m.date} is not in the forecast "
                    f"(it starts on {cal.watermark + timedelta(days=1)}): use a later date"
                )
    base_ivs = [replace(iv, day=iv.day - cal.days) for iv in interventions(cal.config, cal.start)]
    variants_ivs = [base_ivs] + [base_ivs + sc.interventions(cal.watermark) for sc in scenarios]
    tasks = [_VariantRuns(cal, tuple(ivs), days, mode, seed if common else seed + 7919 * v,
                          parameter_uncertainty) for v, ivs in enumerate(variants_ivs)]  # fmt: skip
    runs = run_blocks(tasks, reps, executor=executor, workers=workers)
    values = [{k: np.array([r.kpis[k] for r in rs]) for k in rs[0].kpis} for rs in runs]
    no_spec = cast(FlowSpec, None)  # outbreak variants have no flow spec
    variants = [Variant("baseline", "the twin's own measures", no_spec)]
    variants += [Variant(s.name, s.description, no_spec) for s in scenarios]
    return OutbreakComparison(
        variants=variants,
        kpis=_kpis(cal),
        values=values,
        reps=reps,
        seed=seed,
        confidence=confidence,
        measures={s.name: [m.describe() for m in s.measures] for s in scenarios},
        mode=mode,
        days=days,
        common=common,
    )
