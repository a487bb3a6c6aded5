"""The calibration as text (``report``) and as pandas DataFrames (``frames``)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._los import LengthOfStay
from ._profiles import hour_of_week_label
from ._routing import WEEKDAYS

if TYPE_CHECKING:
    from ._hospital import HospitalCalibration

__all__ = ["frames", "render"]

_STAMP = "%Y-%m-%d %H:%M UTC"


def _pct(p: float) -> str:
    return f"{100 * p:5.1f}%"


def _ci(iv: tuple[float, float]) -> str:
    return f"[{100 * iv[0]:.1f}, {100 * iv[1]:.1f}]"


def _g(x: Any) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def _los_lines(title: str, los: LengthOfStay) -> list[str]:
    lines = [
        f"{title}: {los.family_} {_params(los)}; mean {los.mean_:.1f} h "
        f"({los.mean_ / 24:.2f} days); {los.n_} stays, {los.n_events_} ended",
        f"    {'family':<12}{'loglik':>12}{'AIC':>12}{'BIC':>12}{'KM dist':>9}{'p':>11}",
    ]
    for row in los.table_.to_dict("records"):
        mark = " *" if row["chosen"] else "  "
        lines.append(
            f"  {mark}{row['family']:<12}{row['loglik']:>12.1f}{row['aic']:>12.1f}"
            f"{row['bic']:>12.1f}{row['ks']:>9.3f}{_g(row['ks_p']):>11}"
        )
    return lines


def _params(los: LengthOfStay) -> str:
    ivs = los.intervals()
    return ", ".join(
        f"{k}={v:.3g} [{ivs[k][0]:.3g}, {ivs[k][1]:.3g}]" for k, v in los.params_.items()
    )


def render(cal: HospitalCalibration) -> str:
    """The calibration as readable text (units stated on every line that has numbers)."""
    a = cal.arrivals
    r = cal.routing
    rate = a.rate_per_hour_
    lines = [
        f"calibration on {cal.window_days:g} days: {cal.window_start:{_STAMP}} to "
        f"{cal.watermark:{_STAMP}}",
        "counts: " + ", ".join(f"{k} {v}" for k, v in cal.counts.items()),
        "",
        "ED arrivals (per hour, by hour of week, UTC)",
        f"  mean {a.per_day:.1f} per day ({a.n_} arrivals over {a.n_days_} complete days); "
        f"daily dispersion {_g(a.daily_dispersion_)} (1 = Poisson); intervals at "
        f"{100 * a.level:g}% widened by x{math.sqrt(a.overdispersion_):.2f}",
        f"  busiest hour {hour_of_week_label(int(np.nanargmax(rate)))} "
        f"{np.nanmax(rate):.2f}/h, quietest {hour_of_week_label(int(np.nanargmin(rate)))} "
        f"{np.nanmin(rate):.2f}/h",
        "  per day of week: "
        + ", ".join(
            f"{d} {np.nansum(rate[24 * i : 24 * i + 24]):.1f}" for i, d in enumerate(WEEKDAYS)
        ),
        "  by hour of day (mean over the week, per hour): "
        + " ".join(f"{np.nanmean(rate[h::24]):.1f}" for h in range(24)),
        "",
        "acuity of ED arrivals (share, 95% Wilson interval)",
    ]
    for k, p in cal.acuity_shares.items():
        lines.append(f"  {k}: {_pct(p)} {_ci(r.acuity_ci_[k])}  n={r.acuity_counts_[k]}")
    lines += ["", "after the ED, by acuity (share, 95% Wilson interval, n leaving the ED)"]
    for k, nxt in cal.ed_next_unit.items():
        n = sum(r.ed_next_counts_[k].values())
        parts = [f"{u} {_pct(p)} {_ci(r.ed_next_ci_[k][u])}" for u, p in nxt.items()]
        lines.append(f"  acuity {k} (n={n}): " + "; ".join(parts))
    lines += [
        "",
        "time in the ED (hours; * = chosen by AIC; KM dist = largest gap to Kaplan-Meier)",
    ]
    lines += _los_lines("  discharged home from the ED", cal.ed_exit_los)
    lines += _los_lines("  admitted (incl. boarding)", cal.ed_admit_los)
    lines += ["", "length of stay per unit (hours)"]
    for unit, los in cal.los.items():
        lines += _los_lines(f"  {unit}", los)
    lines += ["", "after each inpatient unit (share, 95% Wilson interval)"]
    for unit, nxt in cal.unit_next.items():
        n = sum(r.unit_next_counts_[unit].values())
        parts = [f"{u} {_pct(p)} {_ci(r.unit_next_ci_[unit][u])}" for u, p in nxt.items()]
        lines.append(f"  {unit} (n={n}): " + "; ".join(parts))
    lines += ["", "elective admissions (mean per day, Mon..Sun)"]
    for unit, means in cal.electives.items():
        lines.append(f"  {unit}: " + " ".join(f"{m:.2f}" for m in means))
    if cal.elective_hour is not None:
        h = cal.elective_hour
        lines.append(
            f"  typical hour of admission: {int(h):02d}:{round(60 * (h % 1)) % 60:02d} UTC"
        )
    d = cal.discharge
    lines += [
        "",
        f"discharges from inpatient units: {100 * d.coverage_:.0f}% between {d.window_[0]} and "
        f"{d.window_[1]} UTC (n={d.n_})",
        "  share by hour of day: "
        + " ".join(f"{h:02d}:{100 * s:.0f}%" for h, s in enumerate(d.shares_) if s > 0),
        "",
        "capacity (most patients at once in the window: an estimate, a lower bound of the beds)",
        "  " + ", ".join(f"{u} {c}" for u, c in cal.capacity.items()),
    ]
    if cal.notes:
        lines += ["", "notes"] + [f"  - {n}" for n in cal.notes]
    return "\n".join(lines) + "\n"


def _los_frame(name: str, los: LengthOfStay) -> pd.DataFrame:
    table = los.table_.copy()
    table.insert(0, "unit", name)
    return table


def frames(cal: HospitalCalibration) -> dict[str, pd.DataFrame]:
    """The calibration's tables as DataFrames."""
    a, r = cal.arrivals, cal.routing
    arrivals = pd.DataFrame(
        {
            "hour_of_week": np.arange(168),
            "day": [WEEKDAYS[k // 24] for k in range(168)],
            "hour": np.arange(168) % 24,
            "rate_per_hour": a.rate_per_hour_,
            "lower": a.lower_,
            "upper": a.upper_,
            "count": a.counts_,
            "exposure_hours": a.exposure_hours_,
        }
    )
    acuity = pd.DataFrame(
        [
            {
                "acuity": k,
                "share": p,
                "lower": r.acuity_ci_[k][0],
                "upper": r.acuity_ci_[k][1],
                "n": r.acuity_counts_[k],
            }
            for k, p in cal.acuity_shares.items()
        ]
    )
    ed_next = pd.DataFrame(
        [
            {
                "acuity": k,
                "next_unit": u,
                "p": p,
                "lower": r.ed_next_ci_[k][u][0],
                "upper": r.ed_next_ci_[k][u][1],
                "n": r.ed_next_counts_[k][u],
            }
            for k, nxt in cal.ed_next_unit.items()
            for u, p in nxt.items()
        ]
    )
    unit_next = pd.DataFrame(
        [
            {
                "unit": w,
                "next_unit": u,
                "p": p,
                "lower": r.unit_next_ci_[w][u][0],
                "upper": r.unit_next_ci_[w][u][1],
                "n": r.unit_next_counts_[w][u],
            }
            for w, nxt in cal.unit_next.items()
            for u, p in nxt.items()
        ]
    )
    los = pd.concat(
        [_los_frame("ED exit", cal.ed_exit_los), _los_frame("ED admit", cal.ed_admit_los)]
        + [_los_frame(u, f) for u, f in cal.los.items()],
        ignore_index=True,
    )
    electives = pd.DataFrame(
        [
            {
                "unit": u,
                "weekday": WEEKDAYS[i],
                "mean_per_day": m,
                "lower": r.electives_ci_[u][i][0],
                "upper": r.electives_ci_[u][i][1],
                "count": r.elective_counts_[u][i],
                "days": r.weekday_days_[i],
            }
            for u, means in cal.electives.items()
            for i, m in enumerate(means)
        ]
    )
    discharge = pd.DataFrame({"hour": np.arange(24), "share": cal.discharge.shares_})
    capacity = pd.DataFrame({"unit": list(cal.capacity), "max_census": list(cal.capacity.values())})
    return {
        "arrivals": arrivals,
        "acuity": acuity,
        "ed_next_unit": ed_next,
        "unit_next": unit_next,
        "los": los,
        "electives": electives,
        "discharge": discharge,
        "capacity": capacity,
    }
