"""Helpers for the trigger tests: a trigger running in its own thread, as the capture service runs it."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import pytest

from device.capture.triggers import Trigger

JOIN_S = 3.0  # a trigger checks `stop` every ~0.1-0.2 s; this is a hang detector, not a timing


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Running:
    """A trigger's `run` in a thread with a recording `fire`; `fail_next` makes fire raise."""

    def __init__(self, trigger: Trigger) -> None:
        self.trigger = trigger
        self.stop = threading.Event()
        self.shots: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.fired: list[str] = []
        self.fail_next = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"test-{trigger.name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.trigger.run(self._fire, self.stop)
        except BaseException as error:  # kept for the test to assert on
            self.error = error

    def _fire(self, source: str) -> None:
        self.fired.append(source)
        self.shots.put(source)
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("simulated failure of the capture service")

    def next_shot(self, timeout: float = 10.0) -> str:
        try:
            return self.shots.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"{self.trigger.name}: no shot within {timeout} s") from None

    def close(self) -> None:
        self.stop.set()
        self.thread.join(JOIN_S)
        assert not self.thread.is_alive(), f"{self.trigger.name} did not stop within {JOIN_S} s"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def run_trigger() -> Iterator:
    """run_trigger(trigger) -> Running; every trigger started is stopped (and checked) at teardown."""
    started: list[Running] = []

    def start(trigger: Trigger) -> Running:
        running = Running(trigger)
        started.append(running)
        return running

    yield start
    for running in started:
        running.close()
