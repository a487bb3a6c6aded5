"""Calibration of the hospital twin on emulated histories, against the emulator's parameters."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from twinsight.assimilate import current_state
from twinsight.calibrate import (
    CALIBRATION_FILE,
    CALIBRATIONS_DIR,
    EXIT,
    CalibrationError,
    HospitalCalibration,
    calibrate_hospital,
    episodes,
    load_calibration,
    save_calibration,
    wilson,
)
from twinsight.cli import app
from twinsight.emulate import (
    Defects,
    Emulation,
    HospitalParams,
    emulate_hospital,
    ward_beds,
    write_events,
)
from twinsight.twin import Twin, init_twin

KEY = "cd" * 32
BEDS = 120
DAYS = 120
P = HospitalParams()
#: Wilson intervals in the routing checks: 99.9% (about 40 checks per history, so a 95% level
#: would fail some by chance), widened by 0.01 for the known defects (0.7% of events lost:
#: a lost event hides a movement at random, it does not misroute one; 0.01 is generous).
LEVEL, DEFECT_MARGIN = 0.999, 0.01


@dataclass
class Loaded:
    emulation: Emulation
    twin: Twin
    home: Path
    cal: HospitalCalibration


def _load(tmp: Path, defects: Defects, seed: int) -> Loaded:
    em = emulate_hospital(DAYS, seed, beds=BEDS, defects=defects)
    path = tmp / "events.csv"
    write_events(em.rows, path)
    home = tmp / "home"
    twin = init_twin("general", home=home)
    twin.ingest([path])
    return Loaded(em, twin, home, calibrate_hospital(twin.engine))


def _fixture(factory: pytest.TempPathFactory, name: str, defects: Defects) -> Iterator[Loaded]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWINSIGHT_PSEUDONYM_KEY", KEY)
        loaded = _load(factory.mktemp(name), defects, seed=11)
        yield loaded
        loaded.twin.close()


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    yield from _fixture(tmp_path_factory, "clean", Defects.none())


@pytest.fixture(scope="module")
def defective(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    yield from _fixture(tmp_path_factory, "defects", Defects())


def _within(p: float, k: int, n: int) -> bool:
    lo, hi = wilson(k, n, LEVEL)
    return lo - DEFECT_MARGIN <= p <= hi + DEFECT_MARGIN


# -- episodes --------------------------------------------------------------------------------


def test_episodes_chain_and_censoring_on_a_clean_feed(clean: Loaded) -> None:
    frame = episodes(clean.twin.engine)
    assert not frame["stale"].any()
    assert (frame["censored"] == frame["end"].isna()).all()
    assert (frame["censored"] == frame["next_unit"].isna()).all()
    ended = frame[~frame["censored"]]
    span = (ended["end"] - ended["start"]).dt.total_seconds() / 3600
    assert np.allclose(span, ended["hours"]) and (ended["hours"] >= 0).all()
    # each movement starts the next segment where the previous ended
    nxt = frame.groupby(["patient_key", "stay"]).shift(-1)
    moved = frame["next_unit"].notna() & (frame["next_unit"] != EXIT)
    assert (nxt.loc[moved, "unit"] == frame.loc[moved, "next_unit"]).all()
    assert (nxt.loc[moved, "start"] == frame.loc[moved, "end"]).all()
    assert (nxt.loc[moved, "prev_unit"] == frame.loc[moved, "unit"]).all()
    # one ED segment opening a stay per true arrival
    arrivals = sum(1 for e in clean.emulation.truth.events if e["type"] == "arrival")
    assert int((frame["prev_unit"].isna() & (frame["unit"] == "ED")).sum()) == arrivals


def test_open_segments_are_the_current_state(clean: Loaded) -> None:
    truth = clean.emulation.truth
    for k in (24 * 50, 24 * 90 + 7):
        at = truth.start + timedelta(hours=k)
        frame = episodes(clean.twin.engine, until=at, since=at - timedelta(days=3))
        present = frame[frame["censored"] & ~frame["stale"]]
        assert (
            present["unit"].value_counts().to_dict() == current_state(clean.twin.engine, at).census
        )
        assert (frame["end"].isna() | (frame["end"] >= at - timedelta(days=3))).all()


def test_episode_rules_for_missing_events(tmp_path: Path) -> None:
    from twinsight.connect import ingest_file
    from twinsight.store import open_store

    engine = open_store(tmp_path / "t.db")
    lines = [
        # A: arrival, admit to MED1, discharge: two ended segments
        {"type": "arrival", "time": "2026-03-01T00:00:00Z", "unit": "ED", "patient_id": "A",
         "acuity": 3},
        {"type": "admit", "time": "2026-03-01T04:00:00Z", "unit": "MED1", "from_unit": "ED",
         "patient_id": "A", "specialty": "medicine", "admission": "emergency"},
        {"type": "discharge", "time": "2026-03-03T04:00:00Z", "unit": "MED1", "patient_id": "A"},
        # B: the admit to ICU is missing: the ED segment is broken, ICU never seen
        {"type": "arrival", "time": "2026-03-01T00:00:00Z", "unit": "ED", "patient_id": "B"},
        {"type": "transfer", "time": "2026-03-03T00:00:00Z", "unit": "SURG", "from_unit": "ICU",
         "patient_id": "B"},
        # C: a second arrival while the first stay is open (its discharge missing)
        {"type": "arrival", "time": "2026-03-01T00:00:00Z", "unit": "ED", "patient_id": "C"},
        {"type": "arrival", "time": "2026-03-04T00:00:00Z", "unit": "ED", "patient_id": "C"},
        {"type": "discharge", "time": "2026-03-04T02:00:00Z", "unit": "ED", "patient_id": "C"},
        # D: an elective admission still in at the end (censored at until)
        {"type": "admit", "time": "2026-03-02T08:00:00Z", "unit": "SURG", "patient_id": "D",
         "specialty": "surgery", "admission": "elective"},
    ]  # fmt: skip
    path = tmp_path / "ev.jsonl"
    path.write_text("".join(json.dumps({"v": 1, **x}) + "\n" for x in lines), encoding="utf-8")
    ingest_file(path, engine, lambda raw: f"{raw:0>64}")
    until = datetime(2026, 3, 5, tzinfo=UTC)
    frame = episodes(engine, until=until)
    engine.dispose()
    rows = {(str(r.patient_key)[-1], r.unit, r.stay): r for r in frame.itertuples(index=False)}
    a_ed, a_med = rows["A", "ED", 0], rows["A", "MED1", 0]
    assert (a_ed.next_unit, a_ed.hours, a_ed.censored) == ("MED1", 4.0, False)
    assert (a_med.prev_unit, a_med.next_unit, a_med.hours, a_med.specialty) == (
        "ED",
        EXIT,
        48.0,
        "medicine",
    )
    assert a_med.acuity == 3
    b_ed, b_surg = rows["B", "ED", 0], rows["B", "SURG", 0]
    assert (b_ed.stale, b_ed.censored, b_ed.hours, b_ed.next_unit) == (True, True, 0.0, None)
    assert (b_surg.prev_unit, b_surg.censored, b_surg.stale, b_surg.hours) == (
        "ICU",
        True,
        False,
        48.0,
    )
    assert rows["C", "ED", 0].stale and rows["C", "ED", 1].next_unit == EXIT
    d = rows["D", "SURG", 0]
    assert (d.prev_unit, d.admission, d.censored, d.stale, d.hours) == (
        None,
        "elective",
        True,
        False,
        64.0,
    )
    with pytest.raises(CalibrationError, match="no UTC offset"):
        episodes(open_store(tmp_path / "t.db"), until=datetime(2026, 3, 5))


# -- the calibration against the emulator's parameters ----------------------------------------


def _ed_truth(acuity: int) -> dict[str, float]:
    admit, icu = P.admit_prob[acuity - 1], P.icu_prob[acuity - 1]
    ward = admit * (1 - icu)
    med = P.emergency_specialty["medicine"] / 2
    return {
        EXIT: 1 - admit,
        "ICU": admit * icu,
        "MED1": ward * med,
        "MED2": ward * med,
        "SURG": ward * P.emergency_specialty["surgery"],
        "ORTHO": ward * P.emergency_specialty["orthopaedics"],
    }


@pytest.mark.parametrize("feed", ["clean", "defective"])
def test_routing_matches_the_emulator(feed: str, request: pytest.FixtureRequest) -> None:
    cal: HospitalCalibration = request.getfixturevalue(feed).cal
    r = cal.routing
    n = sum(r.acuity_counts_.values())
    for a, share in enumerate(P.acuity_shares, start=1):
        assert _within(share, r.acuity_counts_.get(a, 0), n), f"acuity {a} share"
    assert sum(cal.acuity_shares.values()) == pytest.approx(1.0)
    for a in range(1, 6):
        counts = r.ed_next_counts_[a]
        total = sum(counts.values())
        assert sum(cal.ed_next_unit[a].values()) == pytest.approx(1.0)
        for unit, p in _ed_truth(a).items():
            assert _within(p, counts.get(unit, 0), total), f"acuity {a} -> {unit}"
        admitted = total - counts.get(EXIT, 0)
        assert cal.admit_prob[a] == pytest.approx(admitted / total)
        assert _within(P.admit_prob[a - 1], admitted, total), f"acuity {a} admitted"
    icu = r.unit_next_counts_["ICU"]
    assert _within(P.icu_direct_discharge_prob, icu[EXIT], sum(icu.values()))
    for ward in ("MED1", "MED2", "SURG", "ORTHO"):
        assert cal.unit_next[ward] == {EXIT: 1.0}  # wards only discharge in the emulator


@pytest.mark.parametrize("feed", ["clean", "defective"])
def test_ed_time_of_patients_sent_home_is_the_emulators_lognormal(
    feed: str, request: pytest.FixtureRequest
) -> None:
    los = request.getfixturevalue(feed).cal.ed_exit_los
    assert los.family_ == "lognormal"
    ivs = los.intervals(0.999)
    assert ivs["mu"][0] <= math.log(P.ed_stay_median_h) <= ivs["mu"][1]
    assert ivs["sigma"][0] <= P.ed_sigma <= ivs["sigma"][1]


def _clock_quantile(q: float) -> tuple[float, float]:
    """The emulator's discharge clock-time quantile (minutes) and density there (per minute):
    an hour is drawn from ``discharge_hour_shape``, the minute uniformly within it."""
    w = np.asarray(P.discharge_hour_shape, dtype=float) / sum(P.discharge_hour_shape)
    cum = np.concatenate([[0.0], np.cumsum(w)])
    h = int(np.searchsorted(cum, q, side="right")) - 1
    return 60 * (h + (q - cum[h]) / w[h]), w[h] / 60


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return 60 * int(hours) + int(minutes)


@pytest.mark.parametrize("feed", ["clean", "defective"])
def test_discharge_window_and_electives(feed: str, request: pytest.FixtureRequest) -> None:
    cal: HospitalCalibration = request.getfixturevalue(feed).cal
    d = cal.discharge
    # the window's ends are the 5% and 95% quantiles: within 4 standard errors of the truth
    # (se of a sample quantile = sqrt(q (1 - q) / n) / density) and 2 minutes of rounding
    for q, got in ((0.05, d.window_[0]), (0.95, d.window_[1])):
        true, density = _clock_quantile(q)
        se = math.sqrt(q * (1 - q) / d.n_) / density
        assert abs(_minutes(got) - true) <= 4 * se + 2, f"{q}: {got} vs {true:.0f} min"
    assert _minutes(d.window_[0]) <= 10 * 60 + 30 and _minutes(d.window_[1]) >= 17 * 60
    assert d.shares_[10:17].sum() > 0.75
    # electives: weekdays only, about 0.032 x beds a day (less the few cancelled), 07:00-10:00
    weekday = sum(sum(v[:5]) for v in cal.electives.values()) / 5
    assert all(v[5] == v[6] == 0.0 for v in cal.electives.values())
    assert 0.8 * P.electives_per_bed_weekday * BEDS <= weekday
    assert weekday <= 1.1 * P.electives_per_bed_weekday * BEDS
    assert set(cal.electives) <= {"SURG", "ORTHO", "ICU"}
    assert cal.elective_hour is not None and abs(cal.elective_hour - 8.5) < 0.5


def test_arrivals_capacity_and_counts_on_a_clean_feed(clean: Loaded) -> None:
    cal = clean.cal
    start, end = pd.Timestamp(cal.window_start), pd.Timestamp(cal.watermark)
    true = [
        e for e in clean.emulation.truth.events
        if e["type"] == "arrival" and start <= pd.Timestamp(e["time"]) <= end
    ]  # fmt: skip
    assert cal.arrivals.n_ == cal.counts["ed_arrivals"] == len(true)
    assert cal.arrivals.daily_dispersion_ > 1  # surge days and the season: not Poisson
    assert cal.arrivals.overdispersion_ == cal.arrivals.daily_dispersion_
    # most patients at once: never above the beds, and the wards fill up in 56 days
    beds = ward_beds(BEDS)
    for unit, count in cal.capacity.items():
        assert beds[unit] - max(1, beds[unit] // 10) <= count <= beds[unit], unit
    assert cal.counts["stale"] == 0 and not cal.notes


def test_each_unit_has_a_los_with_a_valid_spec(defective: Loaded) -> None:
    from pydantic import TypeAdapter

    from twinsight.spec import Distribution

    cal = defective.cal
    assert set(cal.los) == {"ICU", "MED1", "MED2", "SURG", "ORTHO"}
    for unit, los in cal.los.items():
        dist = TypeAdapter(Distribution).validate_python(los.spec_)
        assert dist.mean_value() == pytest.approx(los.mean_)
        assert 24 < los.mean_ < 24 * 10, unit  # a few days, as the emulator's mixtures
        rem = los.remaining(48.0)
        assert rem["median"] > 0 and rem["mean"] > 0
    assert cal.counts["stale"] > 0  # the defects leave some broken chains
    # lost discharges: the likeliest ghosts are left out, so the capacity is at most a couple
    # of beds too high (ghosts younger than the threshold stay), and the wards still fill up
    beds = ward_beds(BEDS)
    for unit, count in cal.capacity.items():
        assert beds[unit] - max(1, beds[unit] // 10) <= count <= beds[unit] + 2, unit


# -- JSON, storage, report --------------------------------------------------------------------


def test_json_round_trip_is_exact_and_storage(defective: Loaded, tmp_path: Path) -> None:
    cal = defective.cal
    text = json.dumps(cal.to_dict(), allow_nan=False)
    back = HospitalCalibration.from_dict(json.loads(text))
    assert back.to_dict() == cal.to_dict()
    assert json.dumps(back.to_dict(), allow_nan=False) == text
    assert back.acuity_shares == cal.acuity_shares and back.ed_next_unit == cal.ed_next_unit
    assert back.los["MED1"].remaining(30.0) == cal.los["MED1"].remaining(30.0)
    assert np.array_equal(back.arrivals.rate_per_hour_, cal.arrivals.rate_per_hour_)
    folder = tmp_path / "twin"
    folder.mkdir()
    path = save_calibration(folder, cal)
    assert path == folder / CALIBRATION_FILE
    assert len(list((folder / CALIBRATIONS_DIR).glob("calibration-*.json"))) == 1
    assert load_calibration(folder).to_dict() == cal.to_dict()
    assert not list(folder.glob(".*tmp"))
    with pytest.raises(CalibrationError, match="no calibration yet"):
        load_calibration(tmp_path)


def test_report_and_frames(defective: Loaded) -> None:
    cal = defective.cal
    text = cal.report()
    for needle in ("per hour", "hours", "Wilson", " *lognormal", "MED1", "capacity", "UTC"):
        assert needle in text
    frames = cal.frames()
    assert len(frames["arrivals"]) == 168
    assert set(frames["los"]["unit"]) >= {"ED exit", "ED admit", "ICU"}
    assert frames["los"].groupby("unit")["chosen"].sum().eq(1).all()
    assert frames["ed_next_unit"].groupby("acuity")["p"].sum().round(9).eq(1).all()
    assert len(frames["discharge"]) == 24


def test_window_choice_and_errors(defective: Loaded, tmp_path: Path) -> None:
    engine = defective.twin.engine
    start = defective.emulation.truth.start
    early = calibrate_hospital(engine, until=start + timedelta(days=30), window_days=56)
    assert early.window_days < 31 and any("history starts" in n for n in early.notes)
    with pytest.raises(CalibrationError, match="no ED arrivals"):
        calibrate_hospital(engine, until=datetime(2020, 1, 1, tzinfo=UTC))
    with pytest.raises(CalibrationError, match="no UTC offset"):
        calibrate_hospital(engine, until=datetime(2026, 3, 1))
    from twinsight.store import open_store

    empty = open_store(tmp_path / "empty.db")
    with pytest.raises(CalibrationError, match="no events"):
        calibrate_hospital(empty)
    empty.dispose()


# -- command line -----------------------------------------------------------------------------


def test_cli_text_and_json(defective: Loaded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINSIGHT_PSEUDONYM_KEY", KEY)
    home = str(defective.home)
    runner = CliRunner()
    text = runner.invoke(app, ["calibrate", "general", "--home", home])
    assert text.exit_code == 0, text.output
    assert "length of stay per unit (hours)" in text.stdout and "saved" in text.stdout
    until = (defective.emulation.truth.start + timedelta(days=100)).isoformat()
    out = runner.invoke(
        app, ["calibrate", "general", "--home", home, "--until", until, "--window-days", "28",
              "--json"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert datetime.fromisoformat(data["watermark"]) == datetime.fromisoformat(until)
    assert data["window_days"] == 28.0
    saved = load_calibration(defective.home / "general")
    assert saved.to_dict() == data


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["general", "--until", "2026-03-01T00:00:00"], "has no UTC offset"),
        (["general", "--until", "yesterday"], "is not an ISO 8601 instant"),
        (["general", "--until", "2020-01-01T00:00:00Z"], "no ED arrivals"),
        (["general", "--window-days", "0"], "--window-days"),
        (["nosuch"], "there is no twin 'nosuch'"),
    ],
)
def test_cli_errors_exit_2(
    defective: Loaded, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.setenv("TWINSIGHT_PSEUDONYM_KEY", KEY)
    result = CliRunner().invoke(app, ["calibrate", *args, "--home", str(defective.home)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_cli_empty_twin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINSIGHT_PSEUDONYM_KEY", KEY)
    init_twin("empty", home=tmp_path).close()
    result = CliRunner().invoke(app, ["calibrate", "empty", "--home", str(tmp_path)])
    assert result.exit_code == 2
    assert "no events" in result.stderr and "ingest" in result.stderr
    assert not (tmp_path / "empty" / CALIBRATION_FILE).exists()


def test_postgresql_gives_the_same_episodes(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWINSIGHT_PSEUDONYM_KEY", KEY)
    em = emulate_hospital(12, 5, beds=60, defects=Defects())
    path = tmp_path / "events.jsonl"
    write_events(em.rows, path)
    frames = []
    for name, url in (("lite", None), ("pg", pg_url)):
        twin = init_twin(name, home=tmp_path / "home", db_url=url)
        try:
            twin.ingest([path])
            frames.append(episodes(twin.engine, batch=100))
        finally:
            twin.close()
    pd.testing.assert_frame_equal(frames[0], frames[1])
