"""A push button on a GPIO pin as a shutter (gpiozero): one shot per press, contact bounce dropped.

Wire a normally-open button between the pin and ground; the internal pull-up holds the pin
high, a press pulls it low. gpiozero is imported when `run` starts; on a Raspberry Pi 5 it needs
the lgpio pin factory (Debian package python3-lgpio, or `pip install lgpio`), because the
Pi 5's GPIO sits behind the RP1 chip that RPi.GPIO cannot drive.

Debouncing is done here, whatever the pin factory does with `bounce_time` (gpiozero's mock pins
ignore it; lgpio's waits for a stable level): a press counts only when the line was quiet for
`bounce_s` before it, so the chatter of a closing contact and of a releasing one are both
dropped; and no two shots come closer than `min_interval_s`. Each edge is judged as gpiozero
reports it (time from the injectable clock); the shot itself is taken in the trigger's own
thread, never in gpiozero's callback thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from device.capture.triggers import POLL_S, Fire, TriggerUnavailable, fire_safely

log = logging.getLogger(__name__)


class EdgeFilter:
    """Turns the button's edges (pressed or released, at time t) into shots."""

    def __init__(self, bounce_s: float, min_interval_s: float) -> None:
        self.bounce_s = bounce_s
        self.min_interval_s = min_interval_s
        self._last_edge: float | None = None
        self._last_shot: float | None = None

    def edge(self, pressed: bool, t: float) -> bool:
        quiet = self._last_edge is None or t - self._last_edge >= self.bounce_s
        self._last_edge = t
        if not pressed or not quiet:
            return False
        if self._last_shot is not None and t - self._last_shot < self.min_interval_s:
            log.debug("gpio: press %.3f s after the last shot, ignored", t - self._last_shot)
            return False
        self._last_shot = t
        return True


class ButtonTrigger:
    """Shoots on each press of a button on `pin` (BCM number or a gpiozero pin name)."""

    name = "gpio"

    def __init__(self, pin: int | str = 17, *, pull_up: bool = True, bounce_s: float = 0.05,
                 min_interval_s: float = 0.3, pin_factory: Any = None,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.pin = pin
        self.pull_up = pull_up
        self.bounce_s = float(bounce_s)
        self.min_interval_s = float(min_interval_s)
        self._factory = pin_factory  # None: gpiozero's default (lgpio on a Pi 5)
        self._now = now
        self.presses = 0  # presses accepted as shots since the trigger was built
        self.ready = threading.Event()  # set while the button is claimed and listened to

    def _open(self) -> Any:
        try:
            from gpiozero import Button
            from gpiozero.exc import GPIOZeroError
        except ImportError as error:
            raise TriggerUnavailable(
                "the GPIO button needs the Python package 'gpiozero'",
                message_vi="Thiếu gói 'gpiozero' cho nút bấm GPIO; hãy cài lại phần mềm của máy",
            ) from error
        try:
            return Button(self.pin, pull_up=self.pull_up, bounce_time=self.bounce_s or None,
                          pin_factory=self._factory)
        except (GPIOZeroError, OSError) as error:
            raise TriggerUnavailable(
                f"GPIO button on pin {self.pin} cannot be used: {error} (on a Pi 5 install python3-lgpio)",
                message_vi=f"Không dùng được nút bấm ở chân GPIO {self.pin}: {error}",
            ) from error

    def run(self, fire: Fire, stop: threading.Event) -> None:
        button = self._open()
        debounce = EdgeFilter(self.bounce_s, self.min_interval_s)
        lock = threading.Lock()
        shots: queue.SimpleQueue[float] = queue.SimpleQueue()

        def edge(pressed: bool) -> None:  # in gpiozero's thread: judge, count, hand over
            with lock:
                t = self._now()
                if debounce.edge(pressed, t):
                    self.presses += 1
                    shots.put(t)

        button.when_pressed = lambda: edge(True)
        button.when_released = lambda: edge(False)
        self.ready.set()
        log.info("GPIO button on pin %s ready (pull-%s, bounce %.0f ms)", self.pin,
                 "up" if self.pull_up else "down", self.bounce_s * 1000)
        try:
            while not stop.is_set():
                try:
                    shots.get(timeout=POLL_S)
                except queue.Empty:
                    continue
                fire_safely(fire, self.name)
        finally:
            self.ready.clear()
            button.when_pressed = None
            button.when_released = None
            button.close()  # frees the pin for the next run (or another program)
            log.info("GPIO button on pin %s released", self.pin)
