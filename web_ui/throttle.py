"""Login rate limit: failed attempts per (user name, address), counted in this process's memory.

Deliberately simple: one web process per box, so memory is enough; a restart forgets the
counts (an attacker gains `attempts` more tries per restart, which systemd rate-limits).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MAX_KEYS = 10_000  # bound on remembered pairs, so a flood of made-up names cannot fill memory


class LoginThrottle:
    """`attempts` failures of one pair within `window_s` lock that pair for `window_s` from
    the last failure; a success clears the pair's count."""

    def __init__(self, attempts: int, window_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.attempts, self.window_s, self.clock = attempts, window_s, clock
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> list[float]:
        kept = [stamp for stamp in self._failures.get(key, []) if now - stamp < self.window_s]
        if kept:
            self._failures[key] = kept
        else:
            self._failures.pop(key, None)
        return kept

    def locked_for(self, username: str, address: str) -> float:
        """Seconds until this pair may try again (0: it may try now)."""
        with self._lock:
            now = self.clock()
            recent = self._recent((username, address), now)
            if len(recent) < self.attempts:
                return 0.0
            return max(0.0, recent[-1] + self.window_s - now)

    def failed(self, username: str, address: str) -> None:
        with self._lock:
            now = self.clock()
            key = (username, address)
            recent = self._recent(key, now)
            if key not in self._failures and len(self._failures) >= MAX_KEYS:
                self._forget_oldest()
            self._failures[key] = [*recent, now][-self.attempts:]

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            self._failures.pop((username, address), None)

    def _forget_oldest(self) -> None:
        oldest = min(self._failures, key=lambda key: self._failures[key][-1])
        del self._failures[oldest]
