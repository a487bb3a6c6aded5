"""``CaseworkTwin``: the social-services twin from Python, with pandas DataFrames out (as
``HospitalTwin`` for the hospital). Person counts that leave it through :meth:`equity` are
suppressed below ``k``; the raw frames of :meth:`state` are for the twin's operators."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType

import pandas as pd

from ..experiment import run_experiment
from ..govern import DEFAULT_K
from ..twin import Twin, TwinError, init_twin, open_twin
from ._calibrate import CaseworkCalibration
from ._events import CaseIngestReport
from ._forecast import CaseworkForecast
from ._ops import (
    TEMPLATE,
    equity_table,
    export_spec,
    ingest,
    load_casework_calibration,
    present,
    run_calibration,
    run_forecast,
)

__all__ = ["CaseworkTwin"]


class CaseworkTwin:
    """A social-services twin by name (``create=True`` makes it in ``home`` first)."""

    def __init__(
        self,
        name: str,
        *,
        home: Path | str | None = None,
        db_url: str | None = None,
        create: bool = False,
    ) -> None:
        self.twin: Twin = (
            init_twin(name, TEMPLATE, home=home, db_url=db_url)
            if create
            else open_twin(name, home=home, db_url=db_url)
        )
        if self.twin.template != TEMPLATE:
            self.twin.close()
            raise TwinError(f"twin '{name}' is a {self.twin.template} twin, not {TEMPLATE}")

    def __enter__(self) -> CaseworkTwin:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the store."""
        self.twin.close()

    def ingest(self, *paths: Path | str) -> list[CaseIngestReport]:
        """Ingest case event files (CSV, Parquet); counts per file."""
        return ingest(self.twin, [Path(p) for p in paths])

    def calibrate(self, until: datetime | None = None) -> CaseworkCalibration:
        """Calibrate from the stored events and save (``cal.report()``, ``cal.model()``)."""
        return run_calibration(self.twin, until=until)

    def state(self, at: datetime | None = None) -> pd.DataFrame:
        """The open cases: district, priority, team, where they are, days elapsed there and
        since referral, past the deadline or not."""
        return present(self.twin, at).cases

    def forecast(self, days: float = 28.0, *, reps: int = 200, seed: int = 1) -> CaseworkForecast:
        """Backlog and deadline performance for ``days`` days from the present, with bands."""
        return run_forecast(self.twin, days, reps=reps, seed=seed)

    def equity(
        self,
        *,
        reps: int = 20,
        seed: int = 1,
        days: float = 365.0,
        workers: Mapping[str, int] | None = None,
        k: int = DEFAULT_K,
    ) -> pd.DataFrame:
        """Decisions (suppressed below ``k``), time to decision and the share within the
        deadline by district, priority and team, in the calibrated model's steady state."""
        model = load_casework_calibration(self.twin).model(workers)
        result = run_experiment(model.spec(days + 90.0, warmup=90.0), reps=reps, seed=seed)
        return equity_table(model, model.kpis(result.per_rep), k)

    def spec(self, out: Path | str, *, workers: Mapping[str, int] | None = None) -> Path:
        """Write the calibrated model as a flow spec (for compare and optimise)."""
        export_spec(self.twin, Path(out), workers=workers)
        return Path(out)
