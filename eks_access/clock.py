"""Time, for access that ends: the strict reading of ``expires`` and ``--at``, and the clock a
plan or a `pulumi up` reads.

``expires`` is a date (``2026-12-24``: access through the end of that day, 24:00 UTC) or a
date-time with its zone (``2026-12-24T18:00:00+01:00``, ``...Z``), compared in UTC. A
date-time without a zone is refused: whose evening would it be? The program reads the real
time; the offline plan and the tests set it (``fixed``), never through a config key.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from eks_access import rules

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?$")
_ZONE = re.compile(r"(Z|[+-]\d{2}:\d{2})$")
EXAMPLES = "a date (2026-12-24: through the end of that day, UTC) or a date-time with its zone "
EXAMPLES += "(2026-12-24T18:00:00Z, 2026-12-24T18:00:00+01:00)"


def _instant(value: str, what: str) -> datetime:
    if not _DATETIME.match(value):
        raise ValueError(f"{what} {value!r} is not {EXAMPLES}")
    if not _ZONE.search(value):
        raise ValueError(
            f"{what} {value!r} has no zone: add Z for UTC or an offset such as +01:00 "
            "(the time is compared in UTC)"
        )
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError) as e:
        raise ValueError(f"{what} {value!r} is not a real date-time ({e})") from None


def _day(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as e:
        raise ValueError(f"{what} {value!r} is not a real date ({e})") from None


def end_of(value: str) -> datetime:
    """The first instant without access (exclusive): a bare date's next midnight, UTC."""
    if _DATE.match(value):
        day = _day(value, "expires")
        if day == date.max:  # 9999-12-31, a common "never": no next midnight to end at
            return datetime.max.replace(tzinfo=UTC)
        return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    return _instant(value, "expires")


def expiry_value(value: str) -> str:
    """``expires`` checked (for the config model); kept as written."""
    end_of(value)
    return value


def at_value(value: str) -> datetime:
    """``--at``: ``now``, a date (its midnight, UTC) or a date-time with its zone."""
    if value == "now":
        return now()
    if _DATE.match(value):
        day = _day(value, "--at")
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    return _instant(value, "--at")


def now() -> datetime:
    """The time a plan is made at: the real time, unless ``fixed``."""
    return rules.now()


@contextlib.contextmanager
def fixed(at: datetime | None) -> Iterator[None]:
    """``now()`` is ``at`` inside (None: the real time): the offline plan's ``--at``. Set in
    ``rules``, so the policy pack, run in the plan's process, judges at the same time."""
    before, rules.fixed_now = rules.fixed_now, at
    try:
        yield
    finally:
        rules.fixed_now = before


def ended(expires: str | None, at: datetime) -> bool:
    """Whether a grant with this ``expires`` has ended at ``at``."""
    return expires is not None and at >= end_of(expires)


def written(at: datetime) -> str:
    """``at`` as outputs say it: ISO 8601, UTC, to the second."""
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
