"""Record ids in each CRM's own format.

Salesforce ids are 15 case-sensitive characters (3-character key prefix, then a counter) plus a
3-character checksum that makes the 18-character form case-insensitive; clients send either form.
HubSpot ids are numeric strings.
"""

from __future__ import annotations

import re
import secrets
import string

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX_ALPHABET = string.ascii_uppercase + "012345"
SF_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")


def _checksum(id15: str) -> str:
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _SUFFIX_ALPHABET[bits]
    return suffix


def sf_id(prefix: str, number: int) -> str:
    """The 18-character id of the ``number``-th record with key prefix ``prefix`` (e.g. 00Q)."""
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    id15 = prefix + "5g" + digits.rjust(10, "0")
    return id15 + _checksum(id15)


def normalize_sf_id(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None if it is not an id."""
    if not SF_ID_RE.match(value):
        return None
    id15 = value[:15]
    return id15 + _checksum(id15)


def query_locator() -> str:
    """A fresh query cursor id, shaped like Salesforce's (``01g`` + 15 characters)."""
    return "01g" + "".join(secrets.choice(_BASE62) for _ in range(15))
