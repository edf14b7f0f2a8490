"""The shutter triggers' contract: the Trigger protocol, the error for an unusable one, a safe fire.

The capture service runs each configured trigger's `run(fire, stop)` in its own thread.
`run` blocks until `stop` is set (checked at least every ~0.2 s) and calls `fire(source)` once
per intended shot; a `fire` that raises is logged and the trigger goes on. A trigger whose
hardware or library is missing raises `TriggerUnavailable` (a `ConfigError`) when it is built
or as `run` starts, before any shot; a device that comes and goes (a pedal unplugged) is waited
for instead. The triggers: `pedal.PedalTrigger` (USB foot pedal or keypad, evdev),
`gpio.ButtonTrigger` (a push button on a GPIO pin, gpiozero), `auto.AutoCapture` (a new page
lying still with no hand over it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from device.errors import ConfigError

log = logging.getLogger(__name__)

Fire = Callable[[str], None]

# How long a trigger's loop may wait before it looks at `stop` again (seconds).
POLL_S = 0.1


class TriggerUnavailable(ConfigError):
    """A configured trigger cannot work here (library or device missing, wrong pin or key)."""


@runtime_checkable
class Trigger(Protocol):
    """Something that asks for shots: a pedal, a button, auto-capture."""

    name: str

    def run(self, fire: Fire, stop: threading.Event) -> None: ...


def fire_safely(fire: Fire, source: str) -> bool:
    """Call `fire(source)`; a failing shot is logged and reported as False, never raised, so
    one failed capture (disk full, camera gone) does not end the trigger's thread."""
    try:
        fire(source)
    except Exception:  # the service reports the failure to the operator; the trigger goes on
        log.exception("trigger %s: the shot it asked for failed; still listening", source)
        return False
    return True
