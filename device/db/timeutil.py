"""Timestamps as the database stores them: UTC, ISO 8601, microseconds."""

from __future__ import annotations

import datetime as dt


def now() -> str:
    """The current time in UTC, ISO 8601."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")
