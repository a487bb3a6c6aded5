"""Calibration of the hospital twin from its stored ADT events.

``episodes(engine)`` turns the events into patient-unit segments (censored where the patient is
still there or an event is missing); the estimators (``ArrivalRates``, ``LengthOfStay``,
``Routing``, ``DischargeHours``) learn from them sklearn-style (configure, ``fit``, read the
attributes ending in ``_``); ``calibrate_hospital(engine)`` runs them all over one window and
returns a ``HospitalCalibration``, saved with ``save_calibration``. See docs/calibration.md.
"""

from __future__ import annotations

from ._episodes import COLUMNS, CalibrationError, episodes, latest_event
from ._hospital import HospitalCalibration, calibrate_hospital
from ._intervals import poisson_interval, wilson
from ._los import LengthOfStay, kaplan_meier
from ._profiles import ArrivalRates, DischargeHours
from ._routing import EXIT, WEEKDAYS, Routing
from ._storage import CALIBRATION_FILE, CALIBRATIONS_DIR, load_calibration, save_calibration

__all__ = [
    "CALIBRATIONS_DIR",
    "CALIBRATION_FILE",
    "COLUMNS",
    "EXIT",
    "WEEKDAYS",
    "ArrivalRates",
    "CalibrationError",
    "DischargeHours",
    "HospitalCalibration",
    "LengthOfStay",
    "Routing",
    "calibrate_hospital",
    "episodes",
    "kaplan_meier",
    "latest_event",
    "load_calibration",
    "poisson_interval",
    "save_calibration",
    "wilson",
]
