"""Recognise a FHIR JSON file by its content (``detect_format``), whatever its extension.

A FHIR file here is a JSON Bundle (one document, possibly pretty-printed) or NDJSON (one
resource per line, the bulk-data format). Either way the first JSON object of the file has a
``resourceType`` key; an ADT v1 JSON Lines record never has one (unknown fields are rejected).
"""

from __future__ import annotations

import json
import re

__all__ = ["looks_like_fhir"]

#: ``"resourceType":`` at the top level of a pretty-printed document (indented by <= 4).
_KEY = re.compile(r'^\{?\s{0,8}"resourceType"\s*:', re.MULTILINE)


def looks_like_fhir(head: str) -> bool:
    """Whether ``head`` (the first KiB of a file, BOM and leading blanks stripped) is FHIR JSON.

    The first line is parsed when it is a whole JSON object (NDJSON, or a one-line Bundle): FHIR
    when it has a ``resourceType`` key. A document that spans lines (a pretty-printed Bundle) is
    FHIR when ``"resourceType":`` opens one of its lines (FHIR's JSON puts it first).
    """
    if not head.startswith("{"):
        return False
    first = head.split("\n", 1)[0].strip()
    try:
        value = json.loads(first)
    except json.JSONDecodeError:
        return bool(_KEY.search(head[:65536]))
    return isinstance(value, dict) and "resourceType" in value
