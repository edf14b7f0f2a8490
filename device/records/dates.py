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
    """Parse a TT05 date; raises ValueError(english, vietnamese) saying what is wrong: not
    written in an allowed form, a day or month the calendar does not have, a year too early."""
    for form in _FORMS:
        match = form.fullmatch(text.strip())
        if match:
            return _span(text.strip(), match.groupdict())
    raise ValueError(f"{text!r} is not a date: write DD/MM/YYYY, MM/YYYY or YYYY",
                     "ngày không hợp lệ: viết DD/MM/YYYY, MM/YYYY hoặc YYYY")


def _span(text: str, parts: dict[str, str]) -> PartialDate:
    year = int(parts["year"])
    if year < EARLIEST_YEAR:
        raise ValueError(f"{text!r}: the year must be {EARLIEST_YEAR} or later",
                         f"“{text}”: năm phải từ {EARLIEST_YEAR} trở về sau")
    # A part that is written must be real: "00/05/2001" is no day of May, "00/2001" no month.
    month = int(parts["month"]) if parts.get("month") is not None else None
    day = int(parts["day"]) if parts.get("day") is not None else None
    try:
        if day is not None and month is not None:
            first = last = dt.date(year, month, day)
        elif month is not None:
            first = dt.date(year, month, 1)
            last = dt.date(year, month, calendar.monthrange(year, month)[1])
        else:
            first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    except ValueError:
        raise ValueError(f"{text!r} is not a real date: check the day and the month",
                         f"ngày “{text}” không tồn tại: hãy kiểm tra lại ngày và tháng") from None
    return PartialDate(text.strip(), first, last)


def in_order(start: PartialDate, end: PartialDate) -> bool:
    """Whether start can be on or before end (compared as the widest ranges they allow)."""
    return start.first <= end.last
