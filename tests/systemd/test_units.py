"""The systemd units: each passes `systemd-analyze verify` and keeps the shared hardening."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

UNITS = sorted((REPO_ROOT / "systemd").glob("*.service"))
INSTALLED_COMMAND = "/opt/sohoa/.venv/bin/sohoa"
HARDENING = ("User=sohoa", "NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory=sohoa",
             "RestartPreventExitStatus=78")


def test_there_are_units():
    assert UNITS


@pytest.mark.parametrize("unit", UNITS, ids=[unit.name for unit in UNITS])
def test_unit_is_hardened_and_runs_the_installed_command(unit):
    text = unit.read_text()
    assert all(line in text.splitlines() for line in HARDENING)
    assert f"ExecStart={INSTALLED_COMMAND} " in text


def test_there_is_a_unit_for_each_long_running_command():
    assert {unit.name for unit in UNITS} >= {"sohoa-worker.service", "sohoa-capture.service"}


def test_capture_unit_notifies_keeps_a_watchdog_and_reaches_only_its_devices():
    lines = (REPO_ROOT / "systemd" / "sohoa-capture.service").read_text().splitlines()
    settings: dict[str, list[str]] = {}
    for line in lines:
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    assert settings["Type"] == ["notify"] and settings["NotifyAccess"] == ["main"]
    assert int(settings["WatchdogSec"][0]) > 0
    assert settings["ExecStart"] == [f"{INSTALLED_COMMAND} -v capture serve"]
    assert set(settings["SupplementaryGroups"][0].split()) == {"video", "plugdev", "input", "gpio"}
    assert settings["PrivateNetwork"] == ["yes"]
    # Real device nodes, but only the listed ones: the device cgroup is closed.
    assert settings["PrivateDevices"] == ["no"] and settings["DevicePolicy"] == ["closed"]
    allowed = {value.split()[0] for value in settings["DeviceAllow"]}
    assert allowed == {"char-video4linux", "char-media", "char-dma_heap", "char-usb_device",
                       "char-input", "char-gpiochip"}


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is missing")
@pytest.mark.parametrize("unit", UNITS, ids=[unit.name for unit in UNITS])
def test_unit_passes_systemd_analyze_verify(unit, tmp_path):
    # The image installs the box in /opt/sohoa; here the command comes from this environment.
    here = Path(sys.executable).with_name("sohoa")
    copy = tmp_path / unit.name
    copy.write_text(unit.read_text().replace(INSTALLED_COMMAND, str(here)))
    result = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert unit.name not in result.stderr, result.stderr
