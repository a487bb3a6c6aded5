"""The casework forecast's bands against what happened: parameter draws, the referral level's
variation, the truth of open cases per day, and a rolling-origin backtest on the emulated
department (a generative model of its own, not the twin's) whose 90% coverage must fall in
the band a binomial over the independent origins allows; and ``twinsight backtest`` on a
social-services twin with ``--json``."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from twinsight.casework import (
    CaseworkBacktest,
    CaseworkCalibration,
    backtest_casework,
    emulate_casework,
    open_cases_daily,
    parameter_draws,
    referral_level_cv,
)
from twinsight.casework._backtest import default_origins
from twinsight.cli import app

WORKERS = {"alpha": 7, "beta": 6}


def _frame(events: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(events).rename(columns={"group": "client_group", "case_id": "case_key"})
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame.replace({"": None})


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    """Two years of the emulated department's true events (seasons, a September surge and the
    Christmas closure included)."""
    return _frame(emulate_casework(620, 7).events)


def _calibration(events: pd.DataFrame, origin: datetime) -> CaseworkCalibration:
    return CaseworkCalibration(window_days=182, deadline_days=63, workers=WORKERS).fit(
        events[events["time"] <= pd.Timestamp(origin)], origin
    )


def test_level_cv_measures_extra_poisson_variation() -> None:
    rng = np.random.default_rng(5)
    days = pd.date_range("2026-01-05", periods=1092, freq="D", tz="UTC")
    rates = {"x": [10.0] * 7}

    def times(levels: np.ndarray) -> pd.Series:
        counts = rng.poisson(10.0 * levels)
        return pd.Series(np.repeat(days + pd.Timedelta(hours=12), counts))

    flat = referral_level_cv(times(np.ones(1092)), rates, days[0], days[-1], 28)
    # pure Poisson: nothing beyond its noise, up to the noise of the estimate: a change has
    # variance 2/280 and ~39 independent ones leave ~0.0016 in the mean square: 3 sd < 0.07^2
    assert flat < 0.07
    # a level that jumps every 28 days by a lognormal of sd 0.2. Blocks a week apart are not
    # aligned with the jumps: at offset f (0, 1/4, 1/2, 3/4 of a block) the change between
    # two successive blocks has variance s^2 ((1-f)^2 + (1-2f)^2 + f^2), on average
    # 1.0625 s^2: a CV of about 0.206. 38 jumps: the estimate is rough (+-40%).
    steps = np.repeat(np.exp(rng.normal(0, 0.2, 39)), 28)
    jumpy = referral_level_cv(times(steps), rates, days[0], days[-1], 28)
    assert 0.6 * 0.206 < jumpy < 1.4 * 0.206


def test_parameter_draws_vary_around_the_fit_and_repeat_with_the_seed(
    history: pd.DataFrame,
) -> None:
    origin = datetime(2026, 9, 1, tzinfo=UTC)
    cal = _calibration(history, origin)
    draws = parameter_draws(cal, 200, seed=3)
    again = parameter_draws(cal, 200, seed=3)
    assert draws == again and draws != parameter_draws(cal, 200, seed=4)
    base = cal.model(recent=True)
    level = np.array([sum(m.referrals["north"]) / sum(base.referrals["north"]) for m in draws])
    n = cal.recent_count_["north"]
    expected_sd = math.sqrt(cal.level_cv_**2 + 1.0 / n)  # gamma level x lognormal estimate
    assert abs(level.mean() - 1.0) < 4 * expected_sd / math.sqrt(200) + 0.01
    assert 0.7 * expected_sd < level.std() < 1.4 * expected_sd
    # rework: the Jeffreys posterior's sd is about sqrt(p(1-p)/n)
    p, _, _, k = cal.rework_["standard"]
    rework = np.array([m.rework["standard"] for m in draws])
    assert abs(rework.mean() - p) < 0.01
    assert 0.7 < rework.std() / math.sqrt(p * (1 - p) / k) < 1.4


def test_open_cases_per_day_counts_referred_and_not_closed() -> None:
    rows = [
        ("a", "referral", "2026-03-02T00:00:00Z"),
        ("a", "triage", "2026-03-02T12:00:00Z"),
        ("a", "closed", "2026-03-04T00:00:00Z"),
        ("b", "referral", "2026-03-03T00:00:00Z"),  # never closed: stale 90 days later
    ]
    ev = pd.DataFrame(rows, columns=["case_key", "type", "time"]).assign(district="n")
    ev["time"] = pd.to_datetime(ev["time"], utc=True)
    start = datetime(2026, 3, 2, tzinfo=UTC)
    daily = open_cases_daily(ev, start, 4)
    assert daily.tolist() == pytest.approx([1.0, 2.0, 1.0, 1.0])
    assert open_cases_daily(ev, start, 100)[-1] == 0.0  # b is stale after 90 days


@pytest.fixture(scope="module")
def backtest(history: pd.DataFrame) -> CaseworkBacktest:
    """12 origins, 28 days apart, each scored on 28 days (non-overlapping horizons)."""
    origins = default_origins(history, days=28, count=12, step_days=28, window_days=182)
    assert len(origins) == 12
    return backtest_casework(history, lambda o: _calibration(history, o), origins, days=28,
                             reps=100, seed=1, groups=25)  # fmt: skip


def test_rolling_origin_backtest_scores_and_repeats(
    history: pd.DataFrame, backtest: CaseworkBacktest
) -> None:
    """The 50% band is not vacuous: over 12 independent-ish origins its coverage falls in
    0.5 +- 1.96 sqrt(0.25 / 12) = [0.22, 0.78] (95%); same seed, same numbers."""
    s = backtest.summary()
    assert s["origins"] == 12 and s["days_scored"] == 12 * 28
    assert 0.22 <= s["coverage_50"] <= 0.78, s
    assert set(s["baselines"]) == {"last_value", "same_day_last_week"}
    origin = backtest.rows["origin"].iloc[0].to_pydatetime()
    again = backtest_casework(history, lambda o: _calibration(history, o), [origin], days=28,
                              reps=100, seed=1, groups=25)  # fmt: skip
    first = backtest.rows[backtest.rows["origin"] == origin].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, again.rows)


def test_rolling_origin_backtest_coverage_is_binomially_plausible(
    backtest: CaseworkBacktest,
) -> None:
    """The days of one origin share one referral level and one state: about one independent
    test per origin. A calibrated 90% band covers a share whose mean over n origins has sd at
    most sqrt(0.9 * 0.1 / n) = 0.087 for n = 12, so 95% of such backtests land in [0.73, 1].
    Process noise alone (no parameter draws, the recent level unshrunk, every slot staffed)
    covered 58% of 504 days over 18 origins of a 730-day history of the same emulator; this
    one covers 74% (docs/social-services.md)."""
    s = backtest.summary()
    lo, hi = s["coverage_90_band"]
    assert lo == pytest.approx(0.9 - 1.959964 * math.sqrt(0.09 / 12), abs=1e-6) and hi == 1.0
    assert lo <= s["coverage_90"] <= hi, s


def test_backtest_command_on_a_social_services_twin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWINSIGHT_PSEUDONYM_KEY", "ab" * 32)
    runner = CliRunner()
    events = tmp_path / "cases.csv"
    home = ["--home", str(tmp_path)]
    assert runner.invoke(app, ["emulate", "social-services", "--days", "260", "--seed", "4",
                               "--out", str(events)]).exit_code == 0  # fmt: skip
    assert (
        runner.invoke(app, ["init", "dept", "--template", "social-services", *home]).exit_code == 0
    )
    config = tmp_path / "dept" / "twin.yaml"
    config.write_text(config.read_text("utf-8") + "casework:\n  deadline_days: 63\n"
                      "  window_days: 120\n  workers: {alpha: 7, beta: 6}\n", "utf-8")  # fmt: skip
    assert runner.invoke(app, ["ingest", "dept", str(events), *home]).exit_code == 0
    result = runner.invoke(app, ["backtest", "dept", "--origins", "2", "--days", "14",
                                 "--reps", "20", "--json", *home])  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["twin"] == "dept" and data["origins"] == 2 and data["days"] == 14
    assert 0.0 <= data["coverage_90"] <= 1.0 and data["mae"] >= 0
    assert data["baselines"]["last_value"]["mae"] >= 0
    bad = runner.invoke(app, ["backtest", "dept", "--days", "500", *home])
    assert bad.exit_code == 2 and "--days" in bad.output
