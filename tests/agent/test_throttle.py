"""The bandwidth cap (token bucket, on a fake clock) and the allowed time windows."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from agent.backoff import Backoff
from agent.throttle import TokenBucket, in_windows, seconds_until_window


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_bucket_holds_the_average_rate_to_the_cap():
    clock = FakeClock()
    bucket = TokenBucket(10_000, burst=2_000, clock=clock, sleep=clock.sleep)
    for _ in range(100):
        bucket.take(1_000)
    # 100 kB at 10 kB/s: 10 s, less the first burst that was already in the bucket.
    assert clock.now == pytest.approx((100_000 - 2_000) / 10_000)


def test_no_cap_never_waits():
    clock = FakeClock()
    bucket = TokenBucket(0, clock=clock, sleep=clock.sleep)
    assert bucket.take(10**9) == 0 and clock.now == 0


def test_a_request_larger_than_the_burst_is_paced_not_refused():
    clock = FakeClock()
    bucket = TokenBucket(1_000, burst=100, clock=clock, sleep=clock.sleep)
    bucket.take(10_000)
    assert clock.now == pytest.approx(9.9)


@pytest.mark.parametrize("windows, time, inside", [
    ([], "03:00", True),
    (["12:00-13:30"], "12:00", True),
    (["12:00-13:30"], "13:30", False),
    (["17:30-07:00"], "23:59", True),
    (["17:30-07:00"], "06:59", True),
    (["17:30-07:00"], "07:00", False),
    (["08:00-09:00", "17:30-07:00"], "08:30", True),
])
def test_time_windows(windows, time, inside):
    at = dt.datetime.combine(dt.date(2025, 6, 1), dt.time.fromisoformat(time))
    assert in_windows(windows, at) is inside


def test_the_wait_until_the_next_window_wraps_to_tomorrow():
    at = dt.datetime(2025, 6, 1, 14, 0)
    assert seconds_until_window(["12:00-13:30"], at) == 22 * 3600
    assert seconds_until_window(["12:00-13:30", "17:00-18:00"], at) == 3 * 3600
    assert seconds_until_window(["12:00-15:00"], at) == 0


def test_backoff_doubles_with_jitter_up_to_the_maximum():
    backoff = Backoff(2.0, 60.0)
    rng = random.Random(7)
    for attempt, step in [(1, 2.0), (2, 4.0), (3, 8.0), (6, 60.0), (40, 60.0)]:
        delays = {backoff.delay(attempt, rng) for _ in range(50)}
        assert all(step / 2 <= d <= step for d in delays)
        assert len(delays) > 1  # jittered
