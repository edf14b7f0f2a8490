"""Triggers from the configuration: built only when turned on, and run by the capture service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from device.capture.trigger_setup import configured_triggers
from device.capture.triggers.auto import AutoCapture
from device.capture.triggers.gpio import ButtonTrigger
from device.capture.triggers.pedal import PedalTrigger, resolve_keys
from device.config import TriggersConfig
from device.db import records
from tests.conftest import BOX_CONFIG
from tests.device.capture.conftest import CAPTURE_CONFIG, running_service, wait_for

AUTO_CONFIG = """
[capture.triggers.auto]
enabled = true
still_seconds = 0.3
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "sohoa.toml"
    path.write_text(BOX_CONFIG + CAPTURE_CONFIG + AUTO_CONFIG, encoding="utf-8")
    return path


def test_no_trigger_is_built_unless_turned_on():
    assert configured_triggers(TriggersConfig(), lambda: None, None) == []


def test_each_trigger_gets_its_configured_settings():
    settings = TriggersConfig.model_validate({
        "pedal": {"enabled": True, "device": "/dev/input/by-id/usb-pedal", "keys": ["KEY_F5"],
                  "debounce_ms": 500, "grab": False},
        "gpio": {"enabled": True, "pin": 22, "bounce_ms": 20, "min_interval_ms": 800},
        "auto": {"enabled": True, "still_seconds": 2.5, "change_fraction": 0.05}})
    pedal, button, auto = configured_triggers(settings, lambda: None, None)
    assert isinstance(pedal, PedalTrigger) and pedal.device == "/dev/input/by-id/usb-pedal"
    assert pedal.codes == resolve_keys(["KEY_F5"]) and pedal.debounce_s == 0.5 and not pedal.grab
    assert isinstance(button, ButtonTrigger) and button.pin == 22
    assert (button.bounce_s, button.min_interval_s) == (0.02, 0.8)
    assert isinstance(auto, AutoCapture)
    assert (auto.state.params.still_seconds, auto.state.params.change_fraction) == (2.5, 0.05)


def test_a_wrong_trigger_setting_is_refused_by_the_configuration():
    with pytest.raises(ValueError):
        TriggersConfig.model_validate({"gpio": {"enabled": True, "pin": 40}})
    with pytest.raises(ValueError):
        TriggersConfig.model_validate({"pedal": {"enabled": True, "debounce": 3}})


def test_the_service_runs_auto_capture_from_the_configuration(box, dossier_code):
    """The simulated camera shows the next page after each shot, as an operator turning pages
    would: auto-capture shoots each one once it lies still, with nobody pressing anything."""
    from device.capture.simulated import SimulatedCamera
    from tests.device.capture.conftest import SMALL

    with running_service(box, lambda: SimulatedCamera(seed=5, resolution=SMALL)) as (service, client):
        client.set_target(dossier_code)
        dossier = records.dossier_by_code(box.db, dossier_code)

        def pages() -> list:
            return box.db.execute(
                "SELECT p.id, c.qc FROM pages p JOIN captures c ON c.id = p.capture_id "
                "WHERE c.dossier_id = ? ORDER BY p.id", [dossier["id"]]).fetchall()

        wait_for(lambda: len(pages()) >= 2, "auto-capture to shoot two pages", timeout=60)
    first, second = (json.loads(qc) for _, qc in pages()[:2])
    assert not [f for f in second["flags"] if f["reason_key"] == "qc.duplicate" and f["flagged"]]
    assert first["fingerprint"] != second["fingerprint"]  # two different pages, not one twice
