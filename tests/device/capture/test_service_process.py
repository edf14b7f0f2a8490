"""`sohoa capture serve` as systemd runs it: sd_notify datagrams, SIGTERM, configuration errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from device.capture.client import CaptureClient
from device.sdnotify import Notifier, watchdog_interval
from tests.conftest import REPO_ROOT
from tests.device.capture.conftest import wait_for
from tests.device.cli.conftest import Sohoa


@pytest.fixture
def listener(tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.settimeout(0.5)
    yield sock
    sock.close()


def _messages(sock: socket.socket, until: str, timeout: float = 60.0) -> list[str]:
    """Every line received until a datagram with the line `until` (fails if it never comes)."""
    lines: list[str] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            datagram = sock.recv(4096).decode().splitlines()
        except TimeoutError:
            continue
        lines += datagram
        if until in datagram:
            return lines
    pytest.fail(f"no {until} among {lines}")


def test_notifier_sends_one_datagram_per_call(listener, tmp_path):
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify.sock")})
    assert notifier.ready("listening") and notifier.watchdog() and notifier.stopping()
    assert listener.recv(4096) == b"READY=1\nSTATUS=listening"
    assert listener.recv(4096) == b"WATCHDOG=1"
    assert listener.recv(4096) == b"STOPPING=1"
    notifier.close()


def test_notifier_reaches_an_abstract_socket():
    name = f"sohoa-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        notifier = Notifier({"NOTIFY_SOCKET": "@" + name})
        assert notifier.status("hello")
        assert sock.recv(4096) == b"STATUS=hello"
        notifier.close()
    finally:
        sock.close()


def test_outside_systemd_notifying_does_nothing():
    notifier = Notifier({})
    assert not notifier.enabled and not notifier.ready() and notifier.watchdog_seconds is None


def test_the_watchdog_period_is_only_for_the_process_it_names():
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}) == 30.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "0"}) is None and watchdog_interval({}) is None


def test_serve_notifies_ready_pings_and_stops_cleanly_on_sigterm(tmp_path, config_file, listener):
    data = tmp_path / "data"
    assert Sohoa(data, config_file)("init").exit_code == 0
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "600000"}
    server = subprocess.Popen([sys.executable, "-m", "device.cli", "--data", str(data), "--config",
                               str(config_file), "-v", "capture", "serve"], cwd=REPO_ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = _messages(listener, "READY=1")
        socket_file = data / "run" / "capture.sock"
        assert socket_file.exists()  # READY only once it listens
        with CaptureClient(socket_file) as client:
            wait_for(lambda: client.status()["camera"]["available"], "the camera")
        lines += _messages(listener, "WATCHDOG=1")  # fed while healthy
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    lines += _messages(listener, "STOPPING=1", timeout=5)
    assert server.returncode == 0, err
    assert "SIGTERM received" in err and "capture service stopped after 0 shots" in err
    assert "Traceback" not in err
    assert not socket_file.exists()
    assert any(line.startswith("STATUS=camera simulated ready") for line in lines)


def test_serve_with_an_unknown_camera_or_option_exits_78(tmp_path, config_file):
    sohoa = Sohoa(tmp_path / "data", config_file)
    assert sohoa("init").exit_code == 0
    result = sohoa("capture", "serve", "--camera", "usb")
    assert result.exit_code == 78 and "unknown camera 'usb'" in result.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text(config_file.read_text().replace("seed = 5", "bogus = 5"), encoding="utf-8")
    result = Sohoa(tmp_path / "data", bad)("capture", "serve")
    assert result.exit_code == 78 and "camera_options" in result.stderr and "bogus" in result.stderr
    assert not (tmp_path / "data" / "run" / "capture.sock").exists()


def test_a_socket_path_too_long_is_a_configuration_error(tmp_path, config_file):
    long_dir = Path(tmp_path, *["d" * 40] * 3)
    config = tmp_path / "long.toml"
    config.write_text(config_file.read_text().replace(
        "[capture]", f'[capture]\nsocket = "{long_dir / "capture.sock"}"'), encoding="utf-8")
    sohoa = Sohoa(tmp_path / "data", config)
    assert sohoa("init").exit_code == 0
    result = sohoa("capture", "serve")
    assert result.exit_code == 78 and "longer than 107 bytes" in result.stderr


@pytest.mark.parametrize("options", ['{resolution = "high"}', "{resolution = 20}"])
def test_serve_with_a_scanner_option_of_a_wrong_value_exits_78_instead_of_restart_looping(
        tmp_path, config_file, options):
    """A wrong value is a configuration error (systemd does not restart on 78), not a camera
    that failed (which the service would retry for ever) nor a crash (restarted every 2 s)."""
    sohoa = Sohoa(tmp_path / "data", config_file)
    assert sohoa("init").exit_code == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(config_file.read_text().replace("{resolution = [760, 1014], seed = 5}", options),
                   encoding="utf-8")
    result = Sohoa(tmp_path / "data", bad)("capture", "serve", "--camera", "sane")
    assert result.exit_code == 78, result.stderr
    assert "resolution" in result.stderr
    assert not (tmp_path / "data" / "run" / "capture.sock").exists()
