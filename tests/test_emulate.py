"""The hospital emulator: reproducible, valid events, documented defects, realistic shapes."""

from __future__ import annotations

import csv
import itertools
import json
import math
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from twinsight.cli import app
from twinsight.connect import ADT_FIELDS, parse_adt
from twinsight.emulate import (
    UNITS,
    Defects,
    Emulation,
    HospitalParams,
    emulate_hospital,
    write_events,
)

runner = CliRunner()


@pytest.fixture(scope="module")
def year() -> Emulation:
    """A year of a 120-bed hospital with the default defects (about 40,000 events)."""
    return emulate_hospital(365, 11, beds=120, start=date(2026, 1, 5))


def _time(row: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(row["time"]))


# ----- reproducibility --------------------------------------------------------------------------


@pytest.mark.parametrize("ext", [".csv", ".jsonl"])
def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path, ext: str) -> None:
    paths = [tmp_path / f"{name}{ext}" for name in ("a", "b", "c")]
    for path, seed in zip(paths, (5, 5, 6), strict=True):
        write_events(emulate_hospital(20, seed, beds=60).rows, path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


# ----- validity and defects ---------------------------------------------------------------------


def test_valid_rows_parse_and_malformed_rows_fail(year: Emulation) -> None:
    bad = set(year.defects.malformed)
    assert bad, "the default rates give some malformed rows"
    for row in year.rows:
        if row["event_id"] in bad:
            with pytest.raises(ValueError):
                parse_adt(row)
        else:
            parse_adt(row)


def test_defect_rates_match_configuration(year: Emulation) -> None:
    """Each defect count is Binomial(n, rate): within 4 standard deviations of n * rate."""
    n = len(year.truth.events)
    rates = Defects()
    for name in ("missing", "duplicate", "late", "malformed"):
        rate = getattr(rates, name)
        count = len(getattr(year.defects, name))
        sd = math.sqrt(n * rate * (1 - rate))
        assert abs(count - n * rate) <= 4 * sd, (name, count, n * rate)


def test_defects_shape_the_file(year: Emulation) -> None:
    log = year.defects
    ids = Counter(str(r["event_id"]) for r in year.rows)
    assert len(year.rows) == len(year.truth.events) - len(log.missing) + len(log.duplicate)
    assert all(ids[e] == 0 for e in log.missing)
    assert all(ids[e] == 2 for e in log.duplicate)
    assert sum(1 for c in ids.values() if c > 1) == len(log.duplicate)
    # Rows are sorted by time except the late, the duplicated copies and the malformed ones.
    odd = set(log.late) | set(log.duplicate) | set(log.malformed)
    times = [_time(r) for r in year.rows if r["event_id"] not in odd]
    assert times == sorted(times)
    # A late event appears after a later-timed event (unless nothing happened in between, as
    # in a quiet night hour: at least 90% of them are visibly out of order).
    position = {str(r["event_id"]): i for i, r in enumerate(year.rows)}
    latest_before: list[datetime] = []
    for r in year.rows:
        t = _time(r) if r["event_id"] not in log.malformed else datetime.min.replace(tzinfo=UTC)
        latest_before.append(t if not latest_before else max(latest_before[-1], t))
    out_of_order = [
        latest_before[position[e] - 1] > _time(year.rows[position[e]]) for e in log.late
    ]
    assert sum(out_of_order) >= 0.9 * len(log.late)


def test_clean_run_has_no_defects() -> None:
    run = emulate_hospital(10, 3, beds=40, defects=Defects.none())
    assert run.rows == run.truth.events
    with pytest.raises(ValueError, match="late"):
        Defects(late=1.5)


# ----- realism ----------------------------------------------------------------------------------


def test_arrivals_follow_week_hour_and_winter_shape(year: Emulation) -> None:
    """Intended: Monday 1.32x Sunday, 02-05h well under half of 10-13h, January 1.27x July.

    About 25,000 arrivals in the window: Poisson noise on each compared count is under 3%,
    so the margins below (Monday > 1.15 x Sunday; night < 0.45 x late morning; January >
    1.1 x July) hold with room to spare, surge days included.
    """
    arrivals = [_time(r) for r in year.truth.events if r["type"] == "arrival"]
    start = year.truth.start
    arrivals = [t for t in arrivals if t >= start]
    weekday = Counter(t.weekday() for t in arrivals)
    hour = Counter(t.hour for t in arrivals)
    month = Counter(t.month for t in arrivals)
    assert weekday[0] > 1.15 * weekday[6]
    night = sum(hour[h] for h in range(2, 6))
    morning = sum(hour[h] for h in range(10, 14))
    assert night < 0.45 * morning
    assert month[1] / 31 > 1.1 * month[7] / 31


def test_census_never_exceeds_beds_and_matches_the_events(year: Emulation) -> None:
    truth = year.truth
    for j, unit in enumerate(UNITS[1:], start=1):
        assert truth.census[:, j].max() <= truth.beds[unit]
        assert truth.census[:, j].mean() > 0.5 * truth.beds[unit], unit
    # Replaying the true events reproduces the census at a few hours.
    for k in (0, 1000, 5000, len(truth.census) - 1):
        at = truth.start.timestamp() + 3600 * k
        where: dict[str, str] = {}
        for r in truth.events:
            if _time(r).timestamp() > at:
                break
            if r["type"] == "discharge":
                where.pop(str(r["patient_id"]), None)
            else:
                where[str(r["patient_id"])] = str(r["unit"])
        counts = Counter(where.values())
        assert [counts[u] for u in UNITS] == truth.census[k].tolist(), k


def test_los_mixture_mean_near_analytic_mean(year: Emulation) -> None:
    """Sampling: 200,000 stays, sd of the mean < 0.5%, tolerance 1.5%. Realised ward stays add
    the daytime discharge slot (about +1.5 h) and lose long stays cut by the window's end (a
    few %), so they must be within 15% of the mixture mean per specialty."""
    params = HospitalParams()
    rng = np.random.default_rng(0)
    stays: dict[str, list[float]] = defaultdict(list)
    for specialty, days in year.truth.ward_stays:
        stays[specialty].append(days)
    for specialty, mix in params.los.items():
        mean = mix.mean_days()
        assert abs(mix.sample_days(rng, 200_000).mean() / mean - 1) < 0.015
        assert len(stays[specialty]) > 200
        assert abs(float(np.mean(stays[specialty])) / mean - 1) < 0.15, specialty


_PATH = re.compile(
    r"^(arrival( discharge| admit( transfer)*( discharge)?)?|admit( transfer)*( discharge)?)$"
)


def test_each_patient_moves_in_a_consistent_order(year: Emulation) -> None:
    paths: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in year.truth.events:
        paths[str(r["patient_id"])].append(r)
    kinds = Counter()
    for pid, events in paths.items():
        assert re.fullmatch(r"MRN\d{7}", pid)
        types = " ".join(str(e["type"]) for e in events)
        assert _PATH.match(types), (pid, types)
        times = [_time(e) for e in events]
        assert times == sorted(times) and len(set(times)) == len(times), pid
        for a, b in itertools.pairwise(events):
            if b["type"] != "discharge":
                assert b["from_unit"] == a["unit"], pid
        kinds[types.split(" ")[0]] += 1
        if "transfer" in types:
            kinds["transfer"] += 1
    assert kinds["arrival"] > 0 and kinds["admit"] > 0 and kinds["transfer"] > 0
    assert len({str(r["event_id"]) for r in year.truth.events}) == len(year.truth.events)


def test_boarding_and_cancellations_happen_when_beds_are_short() -> None:
    run = emulate_hospital(60, 2, beds=60, params=HospitalParams(ed_arrivals_per_bed_day=0.8))
    assert run.truth.boarding.max() > 0
    assert run.truth.cancelled_electives > 0


def test_the_emulator_does_not_use_the_engines() -> None:
    folder = Path(__file__).parents[1] / "src" / "twinsight" / "emulate"
    for source in folder.glob("*.py"):
        text = source.read_text("utf-8")
        assert not re.search(r"(from|import)\s+[\w.]*engines", text), source.name


# ----- CLI --------------------------------------------------------------------------------------


def _cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout + result.stderr


def test_cli_writes_csv_and_jsonl(tmp_path: Path) -> None:
    csv_path, jsonl_path = tmp_path / "e.csv", tmp_path / "e.jsonl"
    for path in (csv_path, jsonl_path):
        code, out = _cli("emulate", "hospital", "--days", "7", "--seed", "4", "--beds", "50",
                         "--start", "2026-03-02", "--out", str(path))  # fmt: skip
        assert code == 0, out
        assert "wrote" in out
    with csv_path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ADT_FIELDS
        csv_rows = list(reader)
    json_rows = [json.loads(line) for line in jsonl_path.read_text("utf-8").splitlines()]
    assert len(csv_rows) == len(json_rows) > 100
    for c, j in zip(csv_rows, json_rows, strict=True):
        assert {k: v for k, v in c.items() if v != ""} == {k: str(v) for k, v in j.items()}


def test_cli_json_summary(tmp_path: Path) -> None:
    out = tmp_path / "e.jsonl"
    result = runner.invoke(
        app, ["emulate", "hospital", "--days", "5", "--beds", "40", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["events"] == len(out.read_text("utf-8").splitlines())
    assert set(summary["defects"]) == {"missing", "duplicate", "late", "malformed"}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--days", "0", "--out", "{tmp}/e.csv"], "--days"),
        (["--days", "3", "--out", "{tmp}/e.xlsx"], ".parquet"),
        (["--days", "3", "--out", "{tmp}/no/such/dir/e.csv"], "--out"),
        (["--days", "3", "--start", "05/01/2026", "--out", "{tmp}/e.csv"], "YYYY-MM-DD"),
        (["--days", "3", "--late", "2", "--out", "{tmp}/e.csv"], "late"),
        (["--days", "3", "--beds", "3", "--out", "{tmp}/e.csv"], "--beds"),
        (["--days", "3"], "--out"),
    ],
)
def test_cli_bad_options_exit_2_without_traceback(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    code, out = _cli("emulate", "hospital", *[a.format(tmp=tmp_path) for a in args])
    assert code == 2, out
    assert "Traceback" not in out
    assert needle in out
