"""Coverage of the patient twin's 90% prediction interval under a regimen never taken.

Synthetic patients drawn from the prior (as in tests/test_patient.py): 14 days untreated, a
thiazide, then a CCB added; 70 days of twice-daily readings with correlated errors (0.6). For
each, the 90% interval of the usual systolic pressure under thiazide double + CCB standard +
ARB half (new doses and an untried class) is checked against the truth, and so is the thiazide
response's. ``truenoise`` gives the model the true noise instead of estimating it,
``knownonset`` the true onset scale instead of the grid.

    python examples/patient/coverage.py current 500 21     # variant, patients, seed

Prints the coverage with its binomial 95% interval (Wilson), the mean interval width (mm Hg)
and the CPU time. Results are in docs/patient.md (Validation of the learning).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

import twinsight.patient._model as model_module
from twinsight.patient import (
    BloodPressureModel,
    RegimenChange,
    SyntheticPatient,
    drug_effect,
    synthetic_readings,
)
from twinsight.patient._noise import Noise
from twinsight.patient._prior import CLASSES, Dose, DrugClass

START = datetime(2026, 9, 1, tzinfo=UTC)
HISTORY = [
    RegimenChange(START, {}),
    RegimenChange(START + timedelta(days=14), {"thiazide": "standard"}),
    RegimenChange(START + timedelta(days=42), {"thiazide": "standard", "ccb": "half"}),
]
UNTRIED: Mapping[DrugClass, Dose] = {"thiazide": "double", "ccb": "standard", "arb": "half"}
GRID = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0)


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson 95% interval of a binomial proportion."""
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def main(variant: str, n: int, seed: int) -> None:
    """Run ``n`` patients of ``variant`` from ``seed`` and print the coverage."""
    if variant == "truenoise":
        true = Noise((6.0, 4.0), (5.0, 3.5), 0.6, 0.6)

        def known(*_: Any, **__: Any) -> Noise:
            return true

        setattr(model_module, "estimate_noise", known)  # noqa: B010 (a test double)
    rng = np.random.default_rng(seed)
    hits = hits_t = 0
    widths = []
    cpu = time.process_time()
    for i in range(n):
        base = (rng.normal(150, 20), rng.normal(90, 12))
        truth: dict[DrugClass, float] = {c: rng.normal(1, 0.5) for c in ("thiazide", "ccb", "arb")}
        scale = float(rng.choice(GRID))
        model = BloodPressureModel(onset_scales=(scale,) if variant == "knownonset" else GRID)
        patient = SyntheticPatient(base, truth, scale, rho_within=0.6, rho_day=0.6)
        model.fit(synthetic_readings(patient, HISTORY, START, 70, rng), HISTORY)
        theta, _ = model.sample(4000, np.random.default_rng(i))
        predicted, _ = model.steady_state([UNTRIED], theta)
        usual = base[0] - sum(truth[c] * drug_effect(c, d, base)[0] for c, d in UNTRIED.items())
        lo, hi = np.quantile(predicted[:, 0], [0.05, 0.95])
        widths.append(hi - lo)
        hits += int(lo <= usual <= hi)
        k = 2 + CLASSES.index("thiazide")
        t_lo, t_hi = np.quantile(theta[:, k], [0.05, 0.95])
        hits_t += int(t_lo <= truth["thiazide"] <= t_hi)
    low, high = wilson(hits, n)
    print(
        f"{variant} seed {seed}: prediction {hits}/{n} = {hits / n:.3f} "
        f"(95% CI {low:.3f}-{high:.3f}), thiazide {hits_t / n:.3f}, "
        f"mean width {np.mean(widths):.2f} mm Hg, CPU {time.process_time() - cpu:.1f} s"
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
