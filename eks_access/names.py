"""Names people read in a review: Kubernetes usernames and groups, checked for look-alikes.

RBAC compares usernames and groups byte for byte, while a reviewer reads glyphs: ``аlice``
(Cyrillic а) beside ``alice`` is a second principal that reads as the first. The checks are
Unicode's (UTS #39, "Unicode Security Mechanisms") as ICU implements them: its spoof checker's
restriction level (no Latin mixed with Cyrillic or Greek in one name), invisible combining
marks, mixed digit systems, and confusable skeletons (two names are confusable when their
skeletons are equal). ICU ships Unicode's confusables data and is what browsers use for the
same job; a hand table would fall behind Unicode.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import icu

_CHECKS = (
    icu.USpoofChecks.RESTRICTION_LEVEL | icu.USpoofChecks.INVISIBLE | icu.USpoofChecks.MIXED_NUMBERS
)


@lru_cache(maxsize=1)
def _checker() -> icu.SpoofChecker:
    checker = icu.SpoofChecker()
    checker.setChecks(_CHECKS)
    # UTS #39's "highly restrictive" level: one script, or Latin with Han/Japanese/Korean.
    checker.setRestrictionLevel(icu.URestrictionLevel.HIGHLY_RESTRICTIVE)
    return checker


def _scripts(value: str) -> list[str]:
    found: list[str] = []
    for c in value:
        name = str(icu.Script.getScript(c).getName())
        if name not in ("Common", "Inherited") and name not in found:
            found.append(name)
    return found


def problem(value: str, what: str, shown: str) -> str | None:
    """Why ``value`` (a username or group, quoted as ``shown``) cannot be told apart reliably,
    with the fix; or None."""
    if value != value.strip():
        return f"{what} {shown} has leading or trailing whitespace; remove it"
    if any(unicodedata.category(c)[0] in "CZ" and c != " " for c in value):
        # Control, format and separator characters (line breaks included): invisible in logs
        # and reviews, and able to break the lines of a pull-request comment; a space other
        # than ASCII's reads as one and is another name to RBAC.
        return (
            f"{what} {shown} holds a control or invisible character, or a space other than "
            "the ASCII space; use printable text"
        )
    if "  " in value:
        # Markdown (the pull-request comment) shows two spaces as one: another name that
        # reads the same
        return f"{what} {shown} holds two spaces in a row; use one"
    found = _checker().check(value)
    if found & icu.USpoofChecks.RESTRICTION_LEVEL:
        return (
            f"{what} {shown} mixes scripts ({', '.join(_scripts(value))}), so it can pass for "
            "another name; write it in one script"
        )
    if found & icu.USpoofChecks.INVISIBLE:
        return f"{what} {shown} holds repeated invisible combining marks; remove them"
    if found & icu.USpoofChecks.MIXED_NUMBERS:
        return f"{what} {shown} mixes digits of different number systems; use one"
    return None


def skeleton(value: str) -> str:
    """UTS #39's skeleton: two strings are confusable when their skeletons are equal."""
    return str(_checker().getSkeleton(0, value))
