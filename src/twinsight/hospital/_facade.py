"""``HospitalTwin``: the hospital twin for notebooks, every answer a pandas DataFrame.

    >>> import twinsight
    >>> twin = twinsight.HospitalTwin("general", home="twins")      # doctest: +SKIP
    >>> twin.ingest("events.csv")                                   # doctest: +SKIP
    >>> twin.state()                                                # doctest: +SKIP
    >>> twin.forecast(days=7)                                       # doctest: +SKIP

The same operations as the CLI (``twinsight ingest / state / calibrate / forecast / backtest /
drift``), through ``twinsight.hospital``'s functions.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from ..calibrate import HospitalCalibration
from ..scale import Executor
from ..twin import Twin, init_twin, open_twin
from ._ops import ForecastRun, calibrate, drift, run_backtest, run_forecast, state_frame

__all__ = ["HospitalTwin"]


class HospitalTwin:
    """An opened hospital twin (``create=True`` makes it first). Close it, or use ``with``."""

    def __init__(
        self,
        name: str,
        *,
        home: Path | str | None = None,
        db: str | None = None,
        create: bool = False,
    ) -> None:
        self.twin: Twin = (
            init_twin(name, "hospital", home=home, db_url=db)
            if create
            else open_twin(name, home=home, db_url=db)
        )
        self.last_backtest: dict[str, Any] | None = None
        self.last_forecast: ForecastRun | None = None

    def ingest(self, *paths: Path | str) -> pd.DataFrame:
        """Ingest event files (CSV, JSON Lines, Parquet, FHIR): one row of counts per file."""
        reports = self.twin.ingest([Path(p) for p in paths])
        return pd.DataFrame(
            [
                {
                    "source": r.source,
                    "format": r.format,
                    "accepted": r.accepted,
                    "duplicate": r.duplicate,
                    "quarantined": r.quarantined,
                }
                for r in reports
            ]
        )

    def state(self, at: datetime | None = None) -> pd.DataFrame:
        """Census per unit at ``at`` (default: the latest event)."""
        return state_frame(self.twin, at)[1]

    def patients(self, at: datetime | None = None) -> pd.DataFrame:
        """The present patients (pseudonymised keys) with their unit and elapsed hours."""
        state = state_frame(self.twin, at)[0]
        return pd.DataFrame([p.__dict__ for p in state.patients])

    def calibrate(
        self, *, until: datetime | None = None, window_days: float = 56.0
    ) -> HospitalCalibration:
        """Calibrate and save; ``.frames()`` of the result gives its tables, ``.report()``
        the readable report."""
        return calibrate(self.twin, until=until, window_days=window_days)

    def forecast(
        self,
        days: float = 7.0,
        *,
        reps: int = 1000,
        seed: int = 1,
        at: datetime | None = None,
        executor: Executor | str | None = None,
    ) -> pd.DataFrame:
        """Hourly occupancy bands per unit: time, unit, beds, mean, p5, p25, p50, p75, p95.
        The whole run is kept in ``last_forecast`` (see ``indicators()``). ``executor``: where
        the replications run (``twinsight.scale``; the same numbers on each)."""
        self.last_forecast = run_forecast(
            self.twin, days, reps=reps, seed=seed, at=at, executor=executor
        )
        return self.last_forecast.frame

    def indicators(self) -> pd.DataFrame:
        """The bed manager's indicators of the last ``forecast()`` over its horizon (ED 4-hour
        performance, ED time, time to bed, boarding hours per day, elective cancellations,
        discharges per day): mean and 90% predictive band."""
        if self.last_forecast is None:
            raise ValueError("no forecast yet: call forecast() first")
        return self.last_forecast.forecast.indicators()

    def backtest(self, **options: Any) -> pd.DataFrame:
        """Every scored bin of a rolling-origin backtest (options as ``run_backtest``); the
        scores are kept in ``last_backtest`` (mae, coverage_90, baselines...)."""
        result = run_backtest(self.twin, **options)
        self.last_backtest = result.summary()
        return result.rows

    def compare(
        self, *scenarios: Any, days: float = 7.0, reps: int = 200, seed: int = 1, **options: Any
    ) -> pd.DataFrame:
        """The baseline against scenarios (names kept with the twin, files, or
        ``twinsight.decide.Scenario``) with common random numbers: one row per scenario and
        KPI with the paired difference, its 95% CI and a sentence (``twinsight.decide``);
        recorded as a run, its id in ``frame.attrs["run_id"]``."""
        from ..decide import compare_hospital, resolve_scenario

        chosen = [resolve_scenario(self.twin.path, s) for s in scenarios]
        comp, run_id = compare_hospital(
            self.twin, chosen, days=days, reps=reps, seed=seed, **options
        )
        frame = comp.frame()
        frame.attrs["run_id"] = run_id
        return frame

    def drift(self, *, recent_days: float = 28.0) -> pd.DataFrame:
        """Drift alarms found now (also recorded in the store)."""
        alarms = drift(self.twin, recent_days=recent_days)
        columns = ["kind", "unit", "since", "statistic", "message"]
        return pd.DataFrame([a.to_dict() for a in alarms], columns=columns)

    def close(self) -> None:
        """Release the store."""
        self.twin.close()

    def __enter__(self) -> HospitalTwin:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
