"""When and how fast the agent may upload: a token-bucket bandwidth cap and allowed time windows."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Sequence


class TokenBucket:
    """Caps the average rate at `rate` bytes/s with bursts of at most `burst` bytes.

    `take(n)` blocks until n bytes may go; a rate of 0 means no cap. Thread-safe, so one
    bucket can pace every request of the agent."""

    def __init__(self, rate: float, burst: float | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(rate / 4, 16_384))
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._stamp = clock()
        self._lock = threading.Lock()

    def take(self, amount: int) -> float:
        """Wait until `amount` bytes may be sent; returns how long it waited."""
        if self.rate <= 0 or amount <= 0:
            return 0.0
        waited = 0.0
        remaining = float(amount)
        while remaining > 0:
            piece = min(remaining, self.burst)
            with self._lock:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                self._tokens -= piece
                debt = -self._tokens
            if debt > 0:
                pause = debt / self.rate
                self._sleep(pause)
                waited += pause
            remaining -= piece
        return waited


def parse_window(text: str) -> tuple[dt.time, dt.time]:
    start, _, end = text.partition("-")
    return dt.time.fromisoformat(start), dt.time.fromisoformat(end)


def in_windows(windows: Sequence[str], at: dt.datetime | None = None) -> bool:
    """Whether local time `at` falls in one of the "HH:MM-HH:MM" windows (empty: always).

    A window whose end is before its start wraps midnight; the end minute is excluded."""
    if not windows:
        return True
    moment = (at or dt.datetime.now()).time()
    for text in windows:
        start, end = parse_window(text)
        if start <= end:
            if start <= moment < end:
                return True
        elif moment >= start or moment < end:
            return True
    return False


def seconds_until_window(windows: Sequence[str], at: dt.datetime | None = None) -> float:
    """How long until the next window opens (0 when inside one)."""
    moment = at or dt.datetime.now()
    if in_windows(windows, moment):
        return 0.0
    waits = []
    for text in windows:
        start, _ = parse_window(text)
        opening = moment.replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
        if opening <= moment:
            opening += dt.timedelta(days=1)
        waits.append((opening - moment).total_seconds())
    return min(waits)
