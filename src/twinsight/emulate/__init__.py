"""Emulated reality for testing the hospital twin: a synthetic ADT event history.

``emulate_hospital(days, seed, beds=..., start=..., defects=...)`` returns the rows of an event
file (with realistic defects), the ground truth (census per unit per hour, boarding, stays)
and a log of the defects; ``write_events(rows, path)`` writes CSV or JSON Lines. The generator
is independent of Twinsight's engines: see ``docs/emulator.md``.
"""

from __future__ import annotations

from ._defects import DefectLog, Defects
from ._hospital import UNITS, Emulation, GroundTruth, emulate_hospital, ward_beds
from ._params import HospitalParams, LosMixture
from ._stream import StreamCounts, StreamError, feed_schedule, stream_http, stream_mqtt
from ._writers import event_format, write_events

__all__ = [
    "UNITS",
    "DefectLog",
    "Defects",
    "Emulation",
    "GroundTruth",
    "HospitalParams",
    "LosMixture",
    "StreamCounts",
    "StreamError",
    "emulate_hospital",
    "event_format",
    "feed_schedule",
    "stream_http",
    "stream_mqtt",
    "ward_beds",
    "write_events",
]
