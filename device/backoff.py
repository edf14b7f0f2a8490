"""Exponential back-off with jitter: the one formula for every retry wait of the box."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Waits that double from `minimum` up to `maximum`, each drawn in [½, 1] of its step
    ("equal jitter"), so many boxes cut off at once do not come back at once.

    Used by the sync agent's contacts with the hub (agent/backoff.py) and by the job queue's
    retries (device/db/jobs.py `fail_job`): both wait out a failure that may pass, longer after
    each one, and must not all retry at the same moment; only their bounds differ."""

    minimum: float
    maximum: float

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The wait before attempt `attempt + 1` after `attempt` failures (attempt ≥ 1)."""
        step = min(self.maximum, self.minimum * 2 ** max(0, min(attempt - 1, 60)))
        draw = (rng or random).uniform(0.5, 1.0)
        return max(self.minimum / 2, step * draw)
