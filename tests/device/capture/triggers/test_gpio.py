"""The GPIO button trigger on gpiozero's mock pins: one shot per press, bounces dropped, pin freed."""

from __future__ import annotations

import pytest
from gpiozero.pins.mock import MockFactory

from device.capture.triggers import Trigger, TriggerUnavailable
from device.capture.triggers.gpio import ButtonTrigger

PIN = 17


@pytest.fixture
def factory() -> MockFactory:
    """gpiozero's mock pins; a Raspberry Pi 3B board by default (the BCM numbering is the same)."""
    mock = MockFactory()
    yield mock
    mock.reset()


def start(run_trigger, factory: MockFactory, clock, **kw):
    trigger = ButtonTrigger(PIN, pin_factory=factory, now=clock, **kw)
    running = run_trigger(trigger)
    assert trigger.ready.wait(10), f"the trigger did not claim the pin: {running.error!r}"
    return trigger, running, factory.pin(PIN)


def edges(pin, clock, steps: list[tuple[float, str]]) -> None:
    """Drive the pin through (time, "low"|"high") steps; mock pins call back at once."""
    for t, level in steps:
        clock.t = t
        pin.drive_low() if level == "low" else pin.drive_high()


def test_is_a_trigger() -> None:
    assert isinstance(ButtonTrigger(PIN), Trigger)


def test_each_press_is_one_shot(factory: MockFactory, clock, run_trigger) -> None:
    trigger, running, pin = start(run_trigger, factory, clock)
    assert pin.state == 1  # the pull-up holds the idle line high
    edges(pin, clock, [(10.0, "low"), (10.2, "high")])
    assert running.next_shot() == "gpio"
    edges(pin, clock, [(11.0, "low"), (11.15, "high")])
    assert running.next_shot() == "gpio"
    assert trigger.presses == 2


def test_bouncing_contacts_give_one_shot_per_press(factory: MockFactory, clock, run_trigger) -> None:
    trigger, running, pin = start(run_trigger, factory, clock, bounce_s=0.02)
    closing = [(10.000, "low"), (10.001, "high"), (10.003, "low"), (10.004, "high"), (10.006, "low")]
    opening = [(10.250, "high"), (10.251, "low"), (10.253, "high"), (10.256, "low"), (10.258, "high")]
    edges(pin, clock, closing + opening)
    assert trigger.presses == 1  # judged as the edges came in
    edges(pin, clock, [(t + 1.0, level) for t, level in closing + opening])
    assert trigger.presses == 2
    running.next_shot()
    running.next_shot()
    running.close()
    assert running.fired == ["gpio", "gpio"]


def test_presses_closer_than_the_minimum_interval_are_one_shot(factory: MockFactory, clock, run_trigger) -> None:
    trigger, running, pin = start(run_trigger, factory, clock, min_interval_s=0.5)
    edges(pin, clock, [(10.0, "low"), (10.1, "high"), (10.3, "low"), (10.4, "high"),  # a double click
                       (10.7, "low"), (10.8, "high")])
    assert trigger.presses == 2


def test_a_failing_shot_does_not_stop_the_button(factory: MockFactory, clock, run_trigger) -> None:
    _, running, pin = start(run_trigger, factory, clock)
    running.fail_next = 1
    edges(pin, clock, [(10.0, "low"), (10.2, "high")])
    running.next_shot()
    edges(pin, clock, [(11.0, "low"), (11.2, "high")])
    running.next_shot()
    assert running.thread.is_alive() and running.error is None


def test_stop_releases_the_pin_for_the_next_run(factory: MockFactory, clock, run_trigger) -> None:
    first, running, pin = start(run_trigger, factory, clock)
    running.close()  # asserts the thread ended
    assert running.error is None and not first.ready.is_set()
    assert pin.when_changed is None  # no callback left on the pin
    trigger, again, pin = start(run_trigger, factory, clock)  # the pin can be claimed again
    edges(pin, clock, [(20.0, "low"), (20.2, "high")])
    assert again.next_shot() == "gpio" and trigger.presses == 1


def test_a_pin_that_does_not_exist_stops_the_trigger_with_a_configuration_error(
        factory: MockFactory, run_trigger) -> None:
    running = run_trigger(ButtonTrigger("GPIO99", pin_factory=factory))
    running.thread.join(10)
    assert isinstance(running.error, TriggerUnavailable) and running.fired == []
    assert "GPIO99" in str(running.error) and "GPIO" in running.error.message_vi
