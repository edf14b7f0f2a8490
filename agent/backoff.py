"""The back-off of the agent's contacts with the hub: the box's one formula (device/backoff.py).

The job queue retries with the same `Backoff` (device/db/jobs.py `fail_job`); the agent's bounds
come from the [agent] config section (backoff_min_seconds, backoff_max_seconds).
"""

from __future__ import annotations

from device.backoff import Backoff

__all__ = ["Backoff"]
