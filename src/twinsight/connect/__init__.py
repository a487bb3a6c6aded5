"""Connect: data in from the real system (ADT events; files, HTTP, MQTT and FHIR to come)."""

from __future__ import annotations

from ._adt import ADT_FIELDS, AdtEvent, AdtType, parse_adt

__all__ = ["ADT_FIELDS", "AdtEvent", "AdtType", "parse_adt"]
