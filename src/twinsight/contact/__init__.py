"""The contact-centre twin: interaction records in (CSV, Parquet), arrivals per interval and
weekday, handle time per queue, patience by a censored survival fit, satisfaction as a function
of wait and handle time; the centre on the flow engine (skills as dedicated agent groups,
callbacks in idle time, shrinkage); staffing per interval by Erlang C / Erlang A or by
simulation; an emulator of realistic records. See ``docs/contact-centre.md``."""

from __future__ import annotations

from ._calibrate import (
    WEEKDAYS,
    ContactCalibration,
    ContactCalibrationError,
    IntervalArrivals,
    SatisfactionModel,
    calibrate_contact,
    stated_calibration,
)
from ._emulate import SKILLS, ContactEmulation, emulate_contact_centre
from ._erlang import ErlangLevel, erlang_level, fewest_agents
from ._ingest import (
    COLUMNS,
    ContactIngestError,
    ContactIngestReport,
    ingest_interactions,
    load_interactions,
    parse_interaction,
    write_interactions,
)
from ._live import InteractionSink, ingest_interactions_mqtt, publish_interactions
from ._model import (
    AgentGroup,
    CallbackOffer,
    ContactModel,
    ContactSettings,
    ServiceLevel,
    scale_dist,
)
from ._ops import (
    CALIBRATION_FILE,
    ContactConfigError,
    contact_model,
    contact_settings,
    ingest,
    ingest_mqtt,
    load_contact_calibration,
    run_calibration,
    run_compare,
    run_forecast,
    run_staffing,
    save_contact_calibration,
)
from ._scenario import CONTACT_KEYS, load_contact_scenario
from ._staffing import METHODS, StaffingPlan, erlang_applies, staff_intervals

__all__ = [
    "CALIBRATION_FILE",
    "COLUMNS",
    "CONTACT_KEYS",
    "METHODS",
    "SKILLS",
    "WEEKDAYS",
    "AgentGroup",
    "CallbackOffer",
    "ContactCalibration",
    "ContactCalibrationError",
    "ContactConfigError",
    "ContactEmulation",
    "ContactIngestError",
    "ContactIngestReport",
    "ContactModel",
    "ContactSettings",
    "ErlangLevel",
    "InteractionSink",
    "IntervalArrivals",
    "SatisfactionModel",
    "ServiceLevel",
    "StaffingPlan",
    "calibrate_contact",
    "contact_model",
    "contact_settings",
    "emulate_contact_centre",
    "erlang_applies",
    "erlang_level",
    "fewest_agents",
    "ingest",
    "ingest_interactions",
    "ingest_interactions_mqtt",
    "ingest_mqtt",
    "load_contact_calibration",
    "load_contact_scenario",
    "load_interactions",
    "parse_interaction",
    "publish_interactions",
    "run_calibration",
    "run_compare",
    "run_forecast",
    "run_staffing",
    "save_contact_calibration",
    "scale_dist",
    "staff_intervals",
    "stated_calibration",
    "write_interactions",
]
