"""TT05 dates: DD/MM/YYYY, MM/YYYY or YYYY, and their comparison as ranges."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

_FORMS = (
    re.compile(r"(?P<day>[0-9]{2})/(?P<month>[0-9]{2})/(?P<year>[0-9]{4})"),
    re.compile(r"(?P<month>[0-9]{2})/(?P<year>[0-9]{4})"),
    re.compile(r"(?P<year>[0-9]{4})"),
)
EARLIEST_YEAR = 1000  # Hán Nôm records reach back centuries; nothing older is a TT05 record.


@dataclass(frozen=True)
class PartialDate:
    """A date known to the day, the month or only the year; spans [first, last]."""

    text: str
    first: dt.date
    last: dt.date


def parse(text: str) -> PartialDate:
    """Parse a TT05 date; raises ValueError saying which forms are allowed."""
    for form in _FORMS:
        match = form.fullmatch(text.strip())
        if match:
            return _span(text.strip(), match.groupdict())
    raise ValueError(f"{text!r} is not a date: write DD/MM/YYYY, MM/YYYY or YYYY")


def _span(text: str, parts: dict[str, str]) -> PartialDate:
    year = int(parts["year"])
    if year < EARLIEST_YEAR:
        raise ValueError(f"{text!r}: the year must be {EARLIEST_YEAR} or later")
    month = int(parts.get("month") or 0)
    day = int(parts.get("day") or 0)
    try:
        if day:
            first = last = dt.date(year, month, day)
        elif month:
            first = dt.date(year, month, 1)
            last = dt.date(year, month, calendar.monthrange(year, month)[1])
        else:
            first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    except ValueError:
        raise ValueError(f"{text!r} is not a real date") from None
    return PartialDate(text.strip(), first, last)


def in_order(start: PartialDate, end: PartialDate) -> bool:
    """Whether start can be on or before end (compared as the widest ranges they allow)."""
    return start.first <= end.last
