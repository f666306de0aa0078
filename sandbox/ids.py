"""Deterministic record ids in the CRMs' own formats."""

from __future__ import annotations

import itertools

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

SALESFORCE_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "Case": "500",
    "Task": "00T",
    "Note": "002",
    "User": "005",
    "Event": "00U",
    "ContentNote": "069",  # a ContentNote is a ContentDocument: the same 069 id
    "ContentDocumentLink": "06A",
}


def salesforce_18(id15: str) -> str:
    """Append Salesforce's 3-character case-safe checksum to a 15-character id."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _SUFFIX_ALPHABET[bits]
    return id15 + suffix


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        digits.append(_BASE62[rest])
    return "".join(reversed(digits))


class SalesforceIds:
    """Hands out 18-character ids per object: prefix + pod "5g" + counter in base 62.

    The counter is spread over the base-62 digits (multiplied by a constant coprime to 62**8)
    so ids mix upper and lower case like real ones, while staying unique and deterministic."""

    def __init__(self) -> None:
        self._counters = {prefix: itertools.count(1) for prefix in SALESFORCE_PREFIXES.values()}

    def next(self, sobject: str) -> str:
        prefix = SALESFORCE_PREFIXES[sobject]
        n = next(self._counters[prefix])
        mixed = (n * 104_729 + 7_919) % 62**8
        return salesforce_18(prefix + "5g00" + _base62(mixed, 8))


class HubSpotIds:
    """Numeric string ids, one increasing series per object type (like HubSpot portals)."""

    _BASES = {
        "companies": 9_100_000_000,
        "contacts": 51_000,
        "deals": 14_800_000_000,
        "tickets": 2_300_000_000,
        "notes": 41_200_000_000,
        "tasks": 43_900_000_000,
        "feedback_submissions": 610_000_000,
        "calls": 46_100_000_000,
        "meetings": 47_300_000_000,
        "emails": 48_500_000_000,
        "owners": 71_000_000,
    }

    def __init__(self) -> None:
        self._counters = {name: itertools.count(1) for name in self._BASES}

    def next(self, object_type: str) -> str:
        return str(self._BASES[object_type] + next(self._counters[object_type]) * 3)
