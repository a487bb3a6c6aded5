"""Forecast: the twin's model run from the present, with honest bands, and checked against what
happened (rolling-origin backtests against naive baselines; drift alarms).

``HospitalModel`` is the calibrated hospital as a flow-network spec with a warm start;
``forecast(model, state, days)`` gives occupancy bands per unit (median, 50% and 90% intervals).
"""

from __future__ import annotations

from ._forecast import QUANTILES, Forecast, forecast
from ._model import EXIT, HOME, HospitalModel, UnitModel, survival

__all__ = [
    "EXIT",
    "HOME",
    "QUANTILES",
    "Forecast",
    "HospitalModel",
    "UnitModel",
    "forecast",
    "survival",
]
