"""Builds the shutter triggers the configuration turns on (pedal, GPIO button, auto-capture)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from device.capture.triggers import Trigger
from device.config import TriggersConfig
from device.imaging.quality import HandDetector

log = logging.getLogger(__name__)


def configured_triggers(settings: TriggersConfig, frames: Callable[[], np.ndarray | None],
                        hand_detector: HandDetector | None) -> list[Trigger]:
    """The enabled triggers, not yet running. Their libraries (evdev, gpiozero) load only here,
    and only for the triggers turned on. `frames` gives auto-capture the latest preview frame."""
    triggers: list[Trigger] = []
    if settings.pedal.enabled:
        from device.capture.triggers.pedal import DEFAULT_KEYS, PedalTrigger

        pedal = settings.pedal
        triggers.append(PedalTrigger(pedal.device, keys=pedal.keys or DEFAULT_KEYS,
                                     debounce_s=pedal.debounce_ms / 1000.0, grab=pedal.grab))
    if settings.gpio.enabled:
        from device.capture.triggers.gpio import ButtonTrigger

        gpio = settings.gpio
        triggers.append(ButtonTrigger(gpio.pin, pull_up=gpio.pull_up, bounce_s=gpio.bounce_ms / 1000.0,
                                      min_interval_s=gpio.min_interval_ms / 1000.0))
    if settings.auto.enabled:
        from device.capture.triggers.auto import AutoCapture, AutoCaptureParams

        auto = settings.auto
        params = replace(AutoCaptureParams(), still_seconds=auto.still_seconds,
                         shoot_first_page=auto.shoot_first_page, change_fraction=auto.change_fraction)
        triggers.append(AutoCapture(frames, params, hand_detector=hand_detector))
    log.info("capture triggers: %s", ", ".join(t.name for t in triggers) or "none besides the UI and CLI")
    return triggers
