"""The patient twin on the command line: ``twinsight recommend NAME`` and the patient side of
``ingest``, ``calibrate`` and ``forecast`` (dispatched here when the twin's template is
``patient``). Every output carries the banner: decision support for clinicians, not advice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..connect import IngestError
from ..patient import (
    CLASSES,
    DISCLAIMER,
    PatientCalibration,
    PatientProfile,
    ProfileError,
    calibrate_patient,
    ingest_patient_file,
    patient_answer,
    record_patient,
    set_profile,
    twin_profile,
)
from ..twin import Twin, open_twin
from ._app import app
from ._output import fail, stdout
from ._twin import DbOpt, HomeOpt, NameArg, _errors, _open

__all__ = ["patient_calibrate", "patient_forecast", "patient_ingest", "recommend_command"]

_BANNER = f"[bold yellow]{escape(DISCLAIMER)}[/]"


def _banner() -> None:
    stdout.print(_BANNER, highlight=False)


def _calibration(twin: Twin, save: bool) -> PatientCalibration:
    """The twin's profile and a fit to its readings; exits 2 with the fix when impossible."""
    try:
        profile = twin_profile(twin.path)
        return calibrate_patient(twin.engine, profile, twin.path if save else None)
    except (ProfileError, ValueError) as exc:
        fail(str(exc))


def patient_ingest(twin: Twin, files: list[Path], db: str | None, as_json: bool) -> None:
    """``twinsight ingest`` on a patient twin: reading files (CSV, FHIR) and profiles (YAML)."""
    out: list[dict[str, Any]] = []
    try:
        for path in files:
            with _errors(db):
                try:
                    out.append(ingest_patient_file(twin, path))
                except ProfileError as exc:
                    fail(str(exc), "see examples/patient/profile.yaml")
    except IngestError as exc:
        fail(str(exc))
    finally:
        twin.close()
    keys = ("accepted", "duplicate", "quarantined")
    totals = {k: sum(int(f.get(k, 0)) for f in out) for k in keys}
    if as_json:
        stdout.file.write(json.dumps({"twin": twin.name, **totals, "files": out}) + "\n")
        return
    for f in out:
        if f["format"] == "profile":
            stdout.print(f"{escape(f['source'])}: profile saved", highlight=False)
        else:
            stdout.print(
                f"{escape(f['source'])}: {f['accepted']} readings accepted, {f['duplicate']} "
                f"duplicate, {f['quarantined']} quarantined (reasons in the quarantine table)",
                highlight=False,
            )


def patient_calibrate(twin: Twin, db: str | None, as_json: bool) -> None:
    """``twinsight calibrate`` on a patient twin: the fit, saved as patient_calibration.json."""
    try:
        with _errors(db):
            result = _calibration(twin, save=True)
    finally:
        twin.close()
    out = result.to_dict()
    if as_json:
        stdout.file.write(json.dumps({"twin": twin.name, **out}, allow_nan=False) + "\n")
        return
    _banner()
    stdout.print(
        f"twin '{escape(twin.name)}': {out['readings']} readings on {out['days_with_readings']} "
        f"days, {out['first'][:10]} to {out['last'][:10]} (longest gap "
        f"{out['longest_gap_days']:g} days); current regimen {out['current_regimen']}",
        highlight=False,
    )
    for gap in out["gaps"]:
        stdout.print(
            f"gap: no readings for {gap['days']:g} days, {gap['from'][:16]} to {gap['to'][:16]} "
            "(the model needs no regular spacing; the days are simply unobserved)",
            highlight=False,
        )
    noise = out["noise"]
    stdout.print(
        "noise (sd, mm Hg): within a day "
        f"{noise['within_day_sd']['systolic']:.1f}/{noise['within_day_sd']['diastolic']:.1f}, "
        f"day to day {noise['day_to_day_sd']['systolic']:.1f}/"
        f"{noise['day_to_day_sd']['diastolic']:.1f}",
        highlight=False,
    )
    table = Table(title="posterior: mean [90% interval]", title_justify="left")
    table.add_column("parameter")
    table.add_column("mean", justify="right")
    table.add_column("90%", justify="right")
    post = out["posterior"]
    for key in ("baseline_systolic", "baseline_diastolic", *(f"response_{c}" for c in CLASSES)):
        p = post[key]
        table.add_row(key, f"{p['mean']:.2f}", f"{p['lo']:.2f}-{p['hi']:.2f}")
    stdout.print(table)
    stdout.print(
        f"onset: x{post['onset_scale']['mean']:.2f} the usual time to act "
        "(responses are multiples of the Law 2003 average effect)",
        highlight=False,
    )


def patient_forecast(twin: Twin, days: float, seed: int, db: str | None, as_json: bool) -> None:
    """``twinsight forecast`` on a patient twin: the usual pressure day by day under the
    current regimen and under the top recommendation, medians and 90% intervals."""
    try:
        with _errors(db):
            cal = _calibration(twin, save=False)
    except BaseException:
        twin.close()
        raise
    request = {"command": "forecast", "seed": seed, "top": 5, "min_probability": 0.8,
               "days": round(days), "trajectories": 1}  # fmt: skip
    answer = _answer(cal, cal.profile, request)
    run_id = _store(twin, "forecast", cal, cal.profile, request, answer, db)
    runs = answer["forecasts"]
    if as_json:
        out = {"twin": twin.name, "run_id": run_id, "disclaimer": DISCLAIMER, "forecasts": runs}
        stdout.file.write(json.dumps(out, allow_nan=False) + "\n")
        return
    _banner()
    for run in runs:
        table = Table(
            title=f"{run['regimen']} from {run['from'][:16]}: usual pressure, median [90%]",
            title_justify="left",
        )
        for col in ("day", "systolic", "diastolic", "P(target)"):
            table.add_column(col, justify="left" if col == "day" else "right")
        for row in run["days"]:
            s, d = row["systolic"], row["diastolic"]
            table.add_row(
                row["time"][:10],
                f"{s['median']:.0f} [{s['lo90']:.0f}-{s['hi90']:.0f}]",
                f"{d['median']:.0f} [{d['lo90']:.0f}-{d['hi90']:.0f}]",
                f"{100 * row['p_target']:.0f}%",
            )
        stdout.print(table)
    _run_line(run_id)


def _answer(
    cal: PatientCalibration, profile: PatientProfile, request: dict[str, Any]
) -> dict[str, Any]:
    """``patient_answer`` with the request's options (the same call ``rerun`` makes)."""
    return patient_answer(cal, profile, seed=int(request["seed"]), top=int(request["top"]),
                          min_probability=float(request["min_probability"]),
                          days=int(request["days"]),
                          trajectories=int(request["trajectories"]))  # fmt: skip


def _store(
    twin: Twin,
    kind: str,
    cal: PatientCalibration,
    profile: PatientProfile,
    request: dict[str, Any],
    answer: dict[str, Any],
    db: str | None,
) -> str:
    """Record the answer as a run (``patient._runs``); its id."""
    try:
        with _errors(db):
            return record_patient(twin.engine, twin.name, kind, cal, profile, request, answer)
    finally:
        twin.close()


def _run_line(run_id: str) -> None:
    stdout.print(f"run {run_id} (twinsight rerun {run_id})", style="dim", highlight=False)


def _target(text: str) -> tuple[float, float]:
    try:
        sys_text, dia_text = text.split("/")
        return float(sys_text), float(dia_text)
    except ValueError:
        fail(f"--target: '{text}' is not SYSTOLIC/DIASTOLIC", "e.g. --target 130/80")


@app.command("recommend")
def recommend_command(
    name: NameArg,
    profile: Annotated[
        Path | None,
        typer.Option(
            "--profile",
            help="A profile file (YAML/JSON) to save in the twin first (default: the twin's).",
            show_default=False,
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target", help="Target usual pressure, e.g. 130/80 (mm Hg).", show_default=False
        ),
    ] = None,
    avoid: Annotated[
        list[str] | None,
        typer.Option(
            "--contraindication",
            help=f"A class never to propose (repeatable): {', '.join(CLASSES)}.",
            show_default=False,
        ),
    ] = None,
    top: Annotated[int, typer.Option("--top", help="How many regimens to list.")] = 5,
    min_probability: Annotated[
        float,
        typer.Option("--min-probability", help="P(target) a regimen must reach to rank first."),
    ] = 0.8,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Random seed.")] = 1,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Decision support for clinicians, not medical advice: the regimens most likely to reach
    the patient's target with the fewest drugs and lowest doses, 10-year risk before and after,
    and an N-of-1 trial when the evidence on this patient is thin (patient twins)."""
    unknown = [c for c in avoid or [] if c not in CLASSES]
    if unknown:
        fail(f"--contraindication: unknown class {', '.join(unknown)}", f"use {', '.join(CLASSES)}")
    if not 0 < min_probability < 1:
        fail(f"--min-probability: {min_probability:g} is not between 0 and 1", "e.g. 0.8")
    if top < 1:
        fail(f"--top: {top} is not a positive count", "e.g. --top 5")
    goal = _target(target) if target is not None else None
    twin = _open(lambda: open_twin(name, home=home, db_url=db), db)
    if twin.template != "patient":
        twin.close()
        fail(
            f"twin '{name}' is a {twin.template} twin: recommend works on patient twins",
            "create one with 'twinsight init NAME --template patient'",
        )
    if profile is not None:
        try:
            set_profile(twin, profile)
        except ProfileError as exc:
            twin.close()
            fail(str(exc), "see examples/patient/profile.yaml")
    try:
        with _errors(db):
            cal = _calibration(twin, save=False)
    except BaseException:
        twin.close()
        raise
    prof = cal.profile
    updates: dict[str, Any] = {}
    if goal is not None:
        updates["target"] = prof.target.model_copy(
            update={"systolic": goal[0], "diastolic": goal[1]}
        )
    if avoid:
        updates["contraindications"] = sorted(set(prof.contraindications) | set(avoid))
    if updates:
        prof = prof.model_copy(update=updates)
    request = {"command": "recommend", "seed": seed, "top": top,
               "min_probability": min_probability, "days": 0, "trajectories": 0}  # fmt: skip
    answer = _answer(cal, prof, request)
    run_id = _store(twin, "compare", cal, prof, request, answer, db)
    out = answer["recommendation"]
    if as_json:
        stdout.file.write(json.dumps({"twin": name, "run_id": run_id, **out}, allow_nan=False)
                          + "\n")  # fmt: skip
        return
    _render(name, out)
    _run_line(run_id)


_SHORT = {"thiazide": "thiazide", "ace_inhibitor": "ACEi", "arb": "ARB", "ccb": "CCB",
          "beta_blocker": "BB"}  # fmt: skip
_TIMES = {"half": "0.5x", "standard": "1x", "double": "2x"}


def _short(drugs: dict[str, str]) -> str:
    """``thiazide 2x + ARB 1x`` (multiples of the standard dose); ``none`` without drugs."""
    return " + ".join(f"{_SHORT[c]} {_TIMES[drugs[c]]}" for c in CLASSES if c in drugs) or "none"


def _render(name: str, out: dict[str, Any]) -> None:
    _banner()
    t = out["target"]
    cur = out["current"]
    stdout.print(
        f"twin '{escape(name)}', target below {t['systolic']:g}/{t['diastolic']:g} mm Hg; now "
        f"{_short(cur['drugs'])}: usual {cur['systolic']['median']:.0f}/"
        f"{cur['diastolic']['median']:.0f} "
        f"[90%: {cur['systolic']['lo90']:.0f}-{cur['systolic']['hi90']:.0f} / "
        f"{cur['diastolic']['lo90']:.0f}-{cur['diastolic']['hi90']:.0f}], "
        f"P(target) {100 * cur['p_target']:.0f}%",
        highlight=False,
    )
    table = Table(
        title="regimens at full effect (doses as multiples of the standard), fewest drugs and "
        "lowest doses first among those likely to reach the target",
        title_justify="left",
    )
    for col in ("#", "regimen", "systolic [90%]", "diastolic [90%]", "P(target)"):
        table.add_column(col, justify="left" if col == "regimen" else "right", overflow="fold")
    for i, o in enumerate(out["options"], start=1):
        s, d = o["systolic"], o["diastolic"]
        table.add_row(
            str(i),
            _short(o["drugs"]),
            f"{s['median']:.0f} [{s['lo90']:.0f}-{s['hi90']:.0f}]",
            f"{d['median']:.0f} [{d['lo90']:.0f}-{d['hi90']:.0f}]",
            f"{100 * o['p_target']:.0f}%",
        )
    stdout.print(table)
    risk = out["risk_10y"]
    if risk["before"] is not None:
        stdout.print(
            f"10-year ASCVD risk (Pooled Cohort Equations): {100 * risk['before']:.1f}% now, "
            f"{100 * risk['after']:.1f}% on the first regimen",
            highlight=False,
        )
    else:
        stdout.print(f"10-year ASCVD risk: not computed ({risk['note']})", highlight=False)
    for warning in out["warnings"]:
        stdout.print(f"[bold red]warning:[/] {escape(warning)}", highlight=False)
    plan = out["n_of_1"]
    if plan is not None:
        stdout.print(
            f"N-of-1 trial suggested, {plan['why']}: A = {plan['A']}, B = {plan['B']}, "
            f"periods of {plan['period_days']} days in the order {' '.join(plan['sequence'])}; "
            f"{plan['measure']}",
            highlight=False,
        )
