"""USB foot pedals and keypads as a shutter: evdev key presses on the box, one shot per press.

A pedal presents itself as a keyboard. The box reads it directly through evdev (not through a
browser, so it works with no page open) and grabs it, so its keystrokes never reach a console
or another program. Only key-down events of the chosen keys count: key-up and auto-repeat do
not, nor the modifier keys that programmable pedals often send along. A press within
`debounce_s` of the last accepted one is a bounce or a double tap and is dropped. When the
pedal is unplugged (ENODEV) or not plugged in yet, the trigger waits and opens it again.

The device is opened through an injectable `opener` (tests pass a fake written as code);
the default one, `evdev_opener`, imports evdev only when it is built.
"""

from __future__ import annotations

import errno
import logging
import select
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from device.capture.triggers import POLL_S, Fire, TriggerUnavailable, fire_safely

log = logging.getLogger(__name__)

EV_KEY = 1  # linux/input-event-codes.h
KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2  # an EV_KEY event's value

# Codes from linux/input-event-codes.h (a stable kernel ABI), so the defaults need no evdev.
KEY_CODES = {
    "KEY_ENTER": 28,
    "KEY_B": 48,
    "KEY_SPACE": 57,
    "KEY_KP0": 82,
    "KEY_KPENTER": 96,
    "KEY_RIGHT": 106,
    "KEY_DOWN": 108,
    "KEY_PAGEDOWN": 109,
}
# What cheap shutter devices send out of the box: page-turner pedals and presentation
# clickers send PAGEDOWN or RIGHT/DOWN for "next" (their "back" keys, PAGEUP/LEFT/UP, are kept
# free for a later "retake"); PCsensor-type programmable pedals are commonly sold sending "b"
# (reported by users, not checked here); numeric keypads have the big KP0 and KPENTER keys;
# ENTER and SPACE are what most people program a pedal to. Modifiers (Ctrl, Shift) are left
# out on purpose: a pedal programmed as Ctrl+B would otherwise shoot twice per press.
DEFAULT_KEYS = ("KEY_PAGEDOWN", "KEY_RIGHT", "KEY_DOWN", "KEY_B", "KEY_ENTER", "KEY_KPENTER",
                "KEY_SPACE", "KEY_KP0")


class KeyEvent(Protocol):
    """What the trigger reads from an event (evdev's InputEvent has these)."""

    type: int
    code: int
    value: int

    def timestamp(self) -> float: ...


class InputDevice(Protocol):
    """The part of evdev's InputDevice the trigger uses; its fd must be non-blocking."""

    path: str
    name: str

    def fileno(self) -> int: ...

    def read(self) -> Iterable[KeyEvent]: ...

    def grab(self) -> None: ...

    def close(self) -> None: ...


Opener = Callable[[], InputDevice]


def resolve_keys(keys: Sequence[str | int]) -> frozenset[int]:
    """Key names ("KEY_ENTER", "BTN_LEFT") or codes to codes. Names beyond the built-in
    table need evdev's code list; an unknown name is a configuration error."""
    codes = set()
    for key in keys:
        if isinstance(key, int):
            codes.add(key)
        elif key in KEY_CODES:
            codes.add(KEY_CODES[key])
        else:
            codes.add(_evdev_code(key))
    if not codes:
        raise TriggerUnavailable("the pedal has no keys to listen to",
                                 message_vi="Bàn đạp chưa được gán phím nào để chụp")
    return frozenset(codes)


def _evdev_code(name: str) -> int:
    try:
        from evdev import ecodes
    except ImportError as error:
        raise _evdev_missing() from error
    code = ecodes.ecodes.get(name)
    if not isinstance(code, int) or not name.startswith(("KEY_", "BTN_")):
        raise TriggerUnavailable(f"unknown pedal key {name!r}: use a KEY_... or BTN_... name",
                                 message_vi=f"Phím bàn đạp không hợp lệ: {name}")
    return code


def _evdev_missing() -> TriggerUnavailable:
    return TriggerUnavailable(
        "the pedal trigger needs the Python package 'evdev' (Linux only): pip install evdev",
        message_vi="Thiếu gói 'evdev' để đọc bàn đạp; hãy cài lại phần mềm của máy")


def evdev_opener(device: str, codes: frozenset[int] = frozenset()) -> Opener:
    """An opener for a real input device: `device` is a path (best a stable
    /dev/input/by-id/... link) or a piece of the device's name; by name, the first device
    whose name contains it (any case) and which has one of `codes` is taken (a pedal often
    shows up as a keyboard and a mouse of the same name)."""
    try:
        import evdev
    except ImportError as error:
        raise _evdev_missing() from error
    if not device:
        raise TriggerUnavailable("no pedal device configured (a /dev/input path or a name)",
                                 message_vi="Chưa cấu hình thiết bị bàn đạp")

    def open_device() -> InputDevice:
        if device.startswith("/"):
            return evdev.InputDevice(device)
        return _find_by_name(evdev, device, codes)

    return open_device


def _find_by_name(evdev: Any, name: str, codes: frozenset[int]) -> InputDevice:
    for path in evdev.list_devices(writable=False):
        try:
            candidate = evdev.InputDevice(path)
        except OSError as error:
            log.debug("input device %s cannot be opened: %s", path, error)
            continue
        keys = set(candidate.capabilities().get(EV_KEY, ()))
        if name.lower() in candidate.name.lower() and (not codes or keys & codes):
            return candidate
        candidate.close()
    raise FileNotFoundError(errno.ENOENT, f"no input device named like {name!r} with the pedal's keys")


class KeyFilter:
    """Decides which events are shots: key-down of a chosen key, not within the debounce
    time of the last accepted press (kernel event times, so read delays do not matter)."""

    def __init__(self, codes: frozenset[int], debounce_s: float) -> None:
        self.codes = codes
        self.debounce_s = debounce_s
        self._last: float | None = None

    def accept(self, event: KeyEvent) -> bool:
        if event.type != EV_KEY or event.value != KEY_DOWN or event.code not in self.codes:
            return False
        t = event.timestamp()
        # A negative gap means the wall clock was stepped back: accept rather than go deaf.
        if self._last is not None and 0.0 <= t - self._last < self.debounce_s:
            log.debug("pedal: key %d %.3f s after the last press, ignored as a bounce", event.code,
                      t - self._last)
            return False
        self._last = t
        return True


class PedalTrigger:
    """Shoots on each press of a USB pedal or keypad key; see the module docstring."""

    name = "pedal"

    def __init__(self, device: str = "", *, keys: Sequence[str | int] = DEFAULT_KEYS,
                 debounce_s: float = 0.3, reopen_s: float = 1.0, grab: bool = True,
                 opener: Opener | None = None) -> None:
        self.codes = resolve_keys(keys)
        self.device = device
        self.debounce_s = float(debounce_s)
        self.reopen_s = float(reopen_s)
        self.grab = grab
        self._opener = opener or evdev_opener(device, self.codes)
        self._last_problem = ""
        self.presses = 0  # presses accepted as shots since the trigger was built

    def run(self, fire: Fire, stop: threading.Event) -> None:
        keys = KeyFilter(self.codes, self.debounce_s)  # one filter across reconnects
        while not stop.is_set():
            device = self._open(stop)
            if device is None:
                return
            try:
                self._listen(device, keys, fire, stop)
            finally:
                _close(device)

    def _open(self, stop: threading.Event) -> InputDevice | None:
        """The device, opened and grabbed; retried every `reopen_s` until it is there or stop."""
        while not stop.is_set():
            try:
                device = self._opener()
            except OSError as error:
                hint = " (the service's user must be in the 'input' group)" if error.errno == errno.EACCES else ""
                self._problem(f"pedal {self.device or 'device'} not available ({error}){hint}; waiting for it")
                stop.wait(self.reopen_s)
                continue
            try:
                if self.grab:
                    device.grab()
            except OSError as error:  # EBUSY: another program holds it, we would see nothing
                _close(device)
                self._problem(f"pedal {device.path} cannot be grabbed ({error}); retrying")
                stop.wait(self.reopen_s)
                continue
            log.info("pedal %s (%s) ready; shooting on key codes %s", device.path, device.name,
                     sorted(self.codes))
            self._last_problem = ""
            return device
        return None

    def _problem(self, text: str) -> None:
        """Log a problem once when it starts, not every `reopen_s` while it lasts."""
        if text != self._last_problem:
            log.warning("%s", text)
            self._last_problem = text

    def _listen(self, device: InputDevice, keys: KeyFilter, fire: Fire, stop: threading.Event) -> None:
        """Read events until the device goes away or stop is set."""
        while not stop.is_set():
            try:
                ready, _, _ = select.select([device], [], [], POLL_S)
            except (OSError, ValueError) as error:  # the fd was closed under us
                log.warning("pedal %s: cannot wait for events (%s); reopening", device.path, error)
                return
            if not ready:
                continue
            try:
                for event in device.read():  # evdev reads the batch at the first event
                    if keys.accept(event):
                        self.presses += 1
                        fire_safely(fire, self.name)
            except BlockingIOError:
                continue
            except OSError as error:
                gone = "unplugged" if error.errno == errno.ENODEV else "failed"
                log.warning("pedal %s %s (%s); waiting for it to come back", device.path, gone, error)
                return


def _close(device: InputDevice) -> None:
    try:
        device.close()  # closing also ends the grab
    except OSError as error:
        log.debug("pedal %s: close failed (%s); it is gone anyway", device.path, error)
