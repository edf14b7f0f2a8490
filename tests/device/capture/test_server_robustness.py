"""The capture socket under awkward clients: busy answers instead of late changes, shots that
name their target, idle connections dropped, a connection cap, answers written before exit."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from device.capture import server as capture_server
from device.capture.camera import Capture
from device.capture.client import CaptureClient, ServiceError
from tests.device.capture.conftest import Cable, CabledCamera, running_service, wait_for


class SlowCamera(CabledCamera):
    """Its capture waits until the test lets it go (a slow scan)."""

    def __init__(self, cable: Cable) -> None:
        super().__init__(cable)
        self.hold, self.holding = threading.Event(), threading.Event()

    def capture(self) -> Capture:
        if self.hold.is_set():
            self.holding.set()
            while self.hold.is_set():
                time.sleep(0.01)
        return super().capture()


@pytest.fixture
def slow(box):
    cameras: list[SlowCamera] = []

    def make() -> SlowCamera:
        cameras.append(SlowCamera(Cable()))
        return cameras[-1]

    with running_service(box, make) as (service, client):
        wait_for(lambda: service.status()["camera"]["available"], "the camera to open")
        yield service, client, cameras[-1]


def _count(box) -> int:
    return box.db.conn.execute("SELECT count(*) FROM captures").fetchone()[0]


def test_a_target_change_during_a_shot_is_refused_as_busy_and_never_applied_later(slow, box, dossier_code):
    service, client, camera = slow
    client.set_target(dossier_code)
    camera.hold.set()
    shooter = threading.Thread(target=client.shoot, args=(1,))
    shooter.start()
    wait_for(camera.holding.is_set, "the shot to start")
    with CaptureClient(client.path) as other:
        with pytest.raises(ServiceError) as refused:
            other.set_target(dossier_code, 7)
    assert refused.value.status == 409 and "busy" in refused.value.message
    camera.hold.clear()
    shooter.join(timeout=30)
    assert service.target().document == 1  # the shot's own document, not the refused change


def test_a_shot_naming_another_target_than_the_current_one_stores_nothing(slow, box, dossier_code):
    _, client, _ = slow
    client.set_target(dossier_code)
    first = client.shoot(1, expect={"dossier": dossier_code, "document": None})
    assert first["target"]["document"] == 1
    client.set_target(dossier_code, None)  # someone else starts a new document meanwhile
    with pytest.raises(ServiceError) as refused:
        client.shoot(1, expect={"dossier": dossier_code, "document": 1})
    assert refused.value.status == 409 and "target changed" in refused.value.message
    assert _count(box) == 1


def test_an_idle_connection_is_dropped_and_the_number_of_connections_is_capped(box, monkeypatch):
    monkeypatch.setattr(capture_server.CaptureHandler, "timeout", 0.5)
    monkeypatch.setattr(capture_server, "MAX_CONNECTIONS", 3)
    with running_service(box, lambda: CabledCamera(Cable())) as (service, client):
        idle = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(3)]
        for sock in idle:
            sock.connect(str(client.path))
            sock.settimeout(5)
        extra = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        extra.connect(str(client.path))
        extra.settimeout(5)
        assert extra.recv(1) == b""  # over the cap: closed at once
        assert all(sock.recv(1) == b"" for sock in idle)  # silent clients: closed after the timeout
        for sock in idle + [extra]:
            sock.close()
        assert client.status()["camera"]["kind"]  # the service still answers


def test_stopping_during_a_shot_still_writes_its_answer(box, dossier_code):
    cameras: list[SlowCamera] = []

    def make() -> SlowCamera:
        cameras.append(SlowCamera(Cable()))
        return cameras[-1]

    answers: list = []
    with running_service(box, make) as (service, client):
        wait_for(lambda: service.status()["camera"]["available"], "the camera to open")
        client.set_target(dossier_code)
        cameras[-1].hold.set()

        def shoot() -> None:
            with CaptureClient(client.path, timeout=60) as own:
                answers.append(own.shoot(1))

        shooter = threading.Thread(target=shoot)
        shooter.start()
        wait_for(cameras[-1].holding.is_set, "the shot to start")
        threading.Timer(0.5, cameras[-1].hold.clear).start()
        # Leaving the block stops the service (as SIGTERM does) while the shot is in progress.
    shooter.join(timeout=30)
    assert len(answers) == 1 and len(answers[0]["pages"]) == 1
    assert _count(box) == 1


class SlowScanner(SlowCamera):
    """A scanner whose scans may rightly take up to `timeout_s` (its driver's own limit)."""

    timeout_s = 3.0


def test_a_slow_scan_within_the_drivers_timeout_does_not_stop_the_watchdog(box, dossier_code):
    """stall_seconds is 1 s in these tests; the scan takes 2 s of its allowed 3."""
    cameras: list[SlowScanner] = []

    def make() -> SlowScanner:
        cameras.append(SlowScanner(Cable()))
        return cameras[-1]

    with running_service(box, make) as (service, client):
        wait_for(lambda: service.status()["camera"]["available"], "the scanner to open")
        client.set_target(dossier_code)
        cameras[-1].hold.set()
        shooter = threading.Thread(target=client.shoot, args=(1,))
        shooter.start()
        wait_for(cameras[-1].holding.is_set, "the scan to start")
        problems = []
        for _ in range(20):  # 2 s of a slow scan, looked at as the watchdog does
            problems.append(service.health())
            time.sleep(0.1)
        cameras[-1].hold.clear()
        shooter.join(timeout=30)
    assert problems == [None] * 20
