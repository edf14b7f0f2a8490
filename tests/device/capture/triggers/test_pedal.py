"""The USB pedal trigger: which key events are shots, debounce, and a pedal unplugged and back."""

from __future__ import annotations

import errno
import os
import queue
import threading
from dataclasses import dataclass

import pytest

from device.capture.triggers import Trigger, TriggerUnavailable
from device.capture.triggers.pedal import EV_KEY, KEY_CODES, KEY_DOWN, KEY_REPEAT, KEY_UP, PedalTrigger

ENTER, SPACE, PAGEDOWN = KEY_CODES["KEY_ENTER"], KEY_CODES["KEY_SPACE"], KEY_CODES["KEY_PAGEDOWN"]
KEY_A, KEY_LEFTCTRL, KEY_PAGEUP = 30, 29, 104  # linux/input-event-codes.h
EV_SYN, EV_MSC = 0, 4


@dataclass(frozen=True)
class Event:
    type: int
    code: int
    value: int
    t: float

    def timestamp(self) -> float:
        return self.t


def key(code: int, value: int, t: float) -> Event:
    return Event(EV_KEY, code, value, t)


def press(code: int, t: float) -> list[Event]:
    """What a keyboard sends for one tap: scan code, key down, sync, key up, sync."""
    return [Event(EV_MSC, 4, 0x70028, t), key(code, KEY_DOWN, t), Event(EV_SYN, 0, 0, t),
            key(code, KEY_UP, t + 0.08), Event(EV_SYN, 0, 0, t + 0.08)]


class FakePedal:
    """An input device written as code. Events travel through a real pipe, so the trigger's
    select() wakes up as on a device node; like evdev, read() is a generator that raises
    BlockingIOError when empty and OSError(ENODEV) once the device is unplugged."""

    def __init__(self, name: str = "PCsensor FootSwitch Keyboard", path: str = "/dev/input/event7",
                 grab_error: int | None = None) -> None:
        self.name, self.path = name, path
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        self._queue: list[Event] = []
        self._cond = threading.Condition()
        self.processed = 0
        self.gone = False
        self.grab_error = grab_error
        self.grabbed = threading.Event()
        self.closed = False

    def fileno(self) -> int:
        return self._r

    def push(self, *events: Event) -> None:
        with self._cond:
            self._queue.extend(events)
            os.write(self._w, b"e")

    def unplug(self) -> None:
        with self._cond:
            self.gone = True
            os.write(self._w, b"x")

    def read(self):
        with self._cond:
            batch, self._queue = self._queue, []
            while True:
                try:
                    os.read(self._r, 4096)
                except BlockingIOError:
                    break
        if self.gone:
            raise OSError(errno.ENODEV, "No such device")
        if not batch:
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        yield from batch
        with self._cond:  # the trigger asked for the next event: it has dealt with this batch
            self.processed += len(batch)
            self._cond.notify_all()

    def wait_processed(self, count: int, timeout: float = 10.0) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.processed >= count, timeout), \
                f"the trigger handled {self.processed} of {count} events"

    def grab(self) -> None:
        if self.grab_error is not None:
            raise OSError(self.grab_error, os.strerror(self.grab_error))
        self.grabbed.set()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._r)
            os.close(self._w)


class Socket:
    """The USB socket the pedal is plugged into: the trigger's opener."""

    def __init__(self, device: FakePedal | None = None) -> None:
        self.device = device
        self.opens = 0

    def __call__(self) -> FakePedal:
        self.opens += 1
        if self.device is None or self.device.closed:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", "/dev/input/event7")
        return self.device


def wait_until(condition, timeout: float = 10.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("condition not reached in time")


@pytest.fixture
def pedal() -> FakePedal:
    """A plugged-in fake pedal. Ask for it before `run_trigger`, so the trigger stops first."""
    device = FakePedal()
    yield device
    device.close()


def start(run_trigger, pedal: FakePedal, **kw):
    trigger = PedalTrigger(opener=Socket(pedal), reopen_s=kw.pop("reopen_s", 0.05), **kw)
    running = run_trigger(trigger)
    assert pedal.grabbed.wait(10), "the trigger did not open and grab the pedal"
    return trigger, running


def test_is_a_trigger_and_builds_without_evdev_when_given_an_opener() -> None:
    assert isinstance(PedalTrigger(opener=Socket()), Trigger)


def test_one_tap_is_one_shot_and_the_pedal_is_grabbed(pedal: FakePedal, run_trigger) -> None:
    trigger, running = start(run_trigger, pedal)
    pedal.push(*press(ENTER, 100.0))
    assert running.next_shot() == "pedal"
    pedal.wait_processed(5)
    assert running.fired == ["pedal"] and trigger.presses == 1
    assert pedal.grabbed.is_set()  # its keystrokes reach no console


def test_key_up_repeat_other_keys_and_modifiers_are_not_shots(pedal: FakePedal, run_trigger) -> None:
    _, running = start(run_trigger, pedal)
    events = [
        key(ENTER, KEY_UP, 100.0),  # a release alone
        key(KEY_A, KEY_DOWN, 101.0), key(KEY_A, KEY_UP, 101.1),  # a key that is not configured
        key(KEY_LEFTCTRL, KEY_DOWN, 102.0),  # the modifier a Ctrl+B pedal sends first
        key(KEY_PAGEUP, KEY_DOWN, 103.0),  # a page turner's "back"
        Event(EV_SYN, 0, 0, 103.0), Event(EV_MSC, 4, 0x70028, 103.0),
    ]
    pedal.push(*events)
    pedal.wait_processed(len(events))
    assert running.fired == []
    pedal.push(key(PAGEDOWN, KEY_DOWN, 110.0), key(PAGEDOWN, KEY_REPEAT, 110.5),
               key(PAGEDOWN, KEY_REPEAT, 110.53), key(PAGEDOWN, KEY_REPEAT, 110.56),
               key(PAGEDOWN, KEY_UP, 112.0))
    pedal.wait_processed(len(events) + 5)
    assert running.fired == ["pedal"]  # holding the pedal down (auto-repeat) is one shot


def test_only_the_configured_keys_shoot(pedal: FakePedal, run_trigger) -> None:
    _, running = start(run_trigger, pedal, keys=("KEY_SPACE",))
    pedal.push(*press(ENTER, 100.0), *press(SPACE, 101.0), *press(PAGEDOWN, 102.0))
    pedal.wait_processed(15)
    assert running.fired == ["pedal"]


def test_bounces_and_double_taps_within_the_debounce_time_are_one_shot(pedal: FakePedal, run_trigger) -> None:
    _, running = start(run_trigger, pedal, debounce_s=0.3)
    chatter = [key(ENTER, KEY_DOWN, 100.0), key(ENTER, KEY_UP, 100.01), key(ENTER, KEY_DOWN, 100.02),
               key(ENTER, KEY_UP, 100.12), key(ENTER, KEY_DOWN, 100.25), key(ENTER, KEY_UP, 100.3)]
    pedal.push(*chatter, *press(ENTER, 100.7), *press(ENTER, 100.9), *press(ENTER, 101.1))
    pedal.wait_processed(len(chatter) + 15)
    # 100.0 shoots; 100.02 and 100.25 are within 0.3 s of it; 100.7 shoots, 100.9 is a double
    # tap (0.2 s), 101.1 shoots (0.4 s after the last shot).
    assert running.fired == ["pedal"] * 3


def test_a_failing_shot_does_not_stop_the_pedal(pedal: FakePedal, run_trigger) -> None:
    _, running = start(run_trigger, pedal)
    running.fail_next = 1
    pedal.push(*press(ENTER, 100.0))
    running.next_shot()
    pedal.push(*press(ENTER, 102.0))
    running.next_shot()
    assert running.thread.is_alive() and running.error is None and len(running.fired) == 2


def test_a_pedal_unplugged_and_plugged_back_shoots_again(run_trigger) -> None:
    first, second = FakePedal(), FakePedal()
    socket = Socket(first)
    running = run_trigger(PedalTrigger(opener=socket, reopen_s=0.02))
    assert first.grabbed.wait(10)
    first.push(*press(ENTER, 100.0))
    running.next_shot()
    first.unplug()
    wait_until(lambda: first.closed)  # the trigger let go of the dead device...
    opens = socket.opens
    wait_until(lambda: socket.opens >= opens + 3)  # ...and keeps looking for it
    assert running.thread.is_alive() and running.error is None
    socket.device = second  # plugged back in
    assert second.grabbed.wait(10)
    second.push(*press(ENTER, 200.0))
    assert running.next_shot() == "pedal"
    running.close()
    second.close()


def test_a_pedal_grabbed_by_another_program_is_retried(run_trigger) -> None:
    busy = FakePedal(grab_error=errno.EBUSY)
    socket = Socket(busy)
    running = run_trigger(PedalTrigger(opener=socket, reopen_s=0.02))
    wait_until(lambda: socket.opens >= 3)
    assert busy.closed and running.fired == []  # the failed attempt closed what it opened
    free = FakePedal()
    socket.device = free
    assert free.grabbed.wait(10)
    free.push(*press(ENTER, 100.0))
    assert running.next_shot() == "pedal"
    running.close()
    free.close()


def test_stop_ends_the_trigger_even_while_waiting_for_an_absent_pedal(run_trigger) -> None:
    running = run_trigger(PedalTrigger(opener=Socket(None), reopen_s=600))
    running.close()  # asserts the thread ended (it waits on `stop`, not on a sleep)
    assert running.error is None


# -- the real evdev opener -----------------------------------------------------------------


def test_without_a_device_configured_the_real_pedal_is_unavailable() -> None:
    pytest.importorskip("evdev")
    with pytest.raises(TriggerUnavailable) as caught:
        PedalTrigger("")
    assert caught.value.message_vi != caught.value.message


def test_an_unknown_key_name_is_a_configuration_error() -> None:
    pytest.importorskip("evdev")
    with pytest.raises(TriggerUnavailable, match="KEY_NOPE"):
        PedalTrigger("pedal", keys=("KEY_NOPE",))
    assert PedalTrigger("pedal", keys=("KEY_F13",)).codes == {183}  # names beyond the built-in table


def test_the_real_opener_waits_for_a_pedal_that_is_not_there(run_trigger) -> None:
    pytest.importorskip("evdev")
    running = run_trigger(PedalTrigger("no such pedal anywhere", reopen_s=0.05))
    running.close()
    assert running.error is None and running.fired == []


def test_a_real_virtual_keyboard_through_uinput(run_trigger) -> None:
    evdev = pytest.importorskip("evdev")
    if not os.access("/dev/uinput", os.W_OK):
        pytest.skip("/dev/uinput is missing or not writable here (no uinput module in this kernel or container)")
    ecodes = evdev.ecodes
    with evdev.UInput({ecodes.EV_KEY: [ecodes.KEY_ENTER, ecodes.KEY_A]}, name="sohoa test pedal") as keyboard:
        running = run_trigger(PedalTrigger("sohoa test pedal", debounce_s=0.0, reopen_s=0.05))
        for _attempt in range(100):  # the node appears when udev has seen it; the trigger retries
            keyboard.write(ecodes.EV_KEY, ecodes.KEY_A, 1)
            keyboard.write(ecodes.EV_KEY, ecodes.KEY_A, 0)
            keyboard.write(ecodes.EV_KEY, ecodes.KEY_ENTER, 1)
            keyboard.write(ecodes.EV_KEY, ecodes.KEY_ENTER, 0)
            keyboard.syn()
            try:
                assert running.shots.get(timeout=0.1) == "pedal"
                break
            except queue.Empty:
                continue
        else:
            pytest.fail("the trigger never fired on the virtual keyboard")
