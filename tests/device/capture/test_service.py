"""The capture service's logic: the target across restarts, appending to a document, triggers,
the watchdog's view of a wedged camera, and a really full file system."""

from __future__ import annotations

import errno
import json
import logging
import os
import queue
import socket
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from device.capture.camera import Capture
from device.capture.client import ServiceError
from device.capture.service import TARGET_FILE, CaptureService
from device.capture.scanimage import PaperJamError
from device.capture.supervisor import CameraUnavailableError
from device.errors import StateError, StorageFullError
from device.sdnotify import Notifier, keep_watchdog
from tests.conftest import BOX_CONFIG, VALID_DOSSIER
from tests.device.capture.conftest import (CAPTURE_CONFIG, Cable, CabledCamera, WedgedCamera, no_hands,
                                           running_service, wait_for)


def _document_id(box, dossier_code: str, seq: int) -> int:
    return box.db.conn.execute(
        "SELECT d.id FROM documents d JOIN dossiers s ON s.id = d.dossier_id "
        "WHERE s.file_code = ? AND d.seq = ?", (dossier_code, seq)).fetchone()[0]


def _available(service) -> bool:
    return service.status()["camera"]["available"]


def test_the_target_survives_a_restart_and_a_new_document_keeps_filling(box, dossier_code, tmp_path):
    cable = Cable()
    with running_service(box, lambda: CabledCamera(cable)) as (service, client):
        client.set_target(dossier_code)  # a new document at the next shot
        wait_for(lambda: _available(service), "the camera")
        first = client.shoot(2)["pages"]
    saved = json.loads((box.config.paths.data_dir / TARGET_FILE).read_text())
    assert saved == {"dossier": dossier_code, "document_id": _document_id(box, dossier_code, 1),
                     "layout": "page"}
    with running_service(box, lambda: CabledCamera(cable)) as (service, client):
        assert client.target() == {"dossier": dossier_code, "document": 1,
                                   "docId": f"{dossier_code}.1", "next_position": 3, "layout": "page"}
        wait_for(lambda: _available(service), "the camera")
        [third] = client.shoot(1)["pages"]
    assert [p["docId"] for p in first + [third]] == [f"{dossier_code}.1"] * 3
    assert [p["position"] for p in first + [third]] == [1, 2, 3]


def test_a_corrupt_target_file_is_ignored_not_fatal(box, caplog):
    (box.config.paths.data_dir / TARGET_FILE).write_text('{"dossier": 12')
    with caplog.at_level(logging.WARNING):
        service = CaptureService(box, lambda: CabledCamera(Cable()), box.config.settings.capture,
                                 hand_detector=no_hands)
    assert service.target() is None and "ignoring the saved target" in caplog.text
    service.close()


def test_shots_into_an_existing_document_go_after_its_last_page(box, dossier_code):
    cable = Cable()
    with running_service(box, lambda: CabledCamera(cable)) as (service, client):
        wait_for(lambda: _available(service), "the camera")
        client.set_target(dossier_code)
        client.shoot(2)
        client.set_target(dossier_code)  # document 2, new
        client.shoot(1)
        assert client.set_target(dossier_code, 1)["next_position"] == 3
        pages = client.shoot(2)["pages"]
    assert [(p["docId"], p["position"]) for p in pages] == [(f"{dossier_code}.1", 3),
                                                            (f"{dossier_code}.1", 4)]


class QueueTrigger:
    """A pedal written as code: each item put in `presses` is one press."""

    name = "pedal"

    def __init__(self) -> None:
        self.presses: queue.Queue[str] = queue.Queue()
        self.handled = threading.Semaphore(0)
        self.stopped = threading.Event()

    def run(self, fire, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                source = self.presses.get(timeout=0.05)
            except queue.Empty:
                continue
            fire(source)
            self.handled.release()
        self.stopped.set()


def test_a_trigger_shoots_into_the_target_and_survives_a_refusal(box, dossier_code, caplog):
    from device.catalog.dossiers import move

    pedal = QueueTrigger()
    with running_service(box, lambda: CabledCamera(Cable()), triggers=[pedal]) as (service, client):
        wait_for(lambda: _available(service), "the camera")
        client.set_target(dossier_code)
        pedal.presses.put("pedal")
        assert pedal.handled.acquire(timeout=30)
        assert client.status()["shots"] == 1
        move(box, dossier_code, "submit", actor="test")  # not editable: the press is refused
        with caplog.at_level(logging.WARNING):
            pedal.presses.put("pedal")
            assert pedal.handled.acquire(timeout=30)
        assert "trigger pedal: no shot" in caplog.text and "reopen it" in caplog.text
        move(box, dossier_code, "withdraw", actor="test")
        pedal.presses.put("pedal")
        assert pedal.handled.acquire(timeout=30)  # the trigger's thread is still there
        assert client.status()["shots"] == 2
        preview = service.latest_preview()
        assert isinstance(preview, np.ndarray) and preview.shape == (640, 480, 3)
    assert pedal.stopped.is_set()  # stopped with the service
    actors = [row[0] for row in box.db.conn.execute(
        "SELECT actor FROM events WHERE action = 'page.capture' ORDER BY id")]
    assert actors == ["trigger:pedal", "trigger:pedal"]


def test_a_wedged_camera_stops_the_watchdog_pings(box, tmp_path):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify.sock"))
    listener.settimeout(0.2)
    camera = WedgedCamera(Cable())
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify.sock")})
    stop = threading.Event()
    try:
        with running_service(box, lambda: camera, notifier=notifier) as (service, _):
            try:
                wait_for(lambda: _available(service), "the camera")
                pinger = threading.Thread(target=keep_watchdog,
                                          args=(notifier, service.health, stop, 0.05))
                pinger.start()
                assert _received(listener, "WATCHDOG=1")
                camera.wedge.set()  # the next preview read never returns
                # The pinger says once why it stopped; datagrams keep their order, so no ping
                # sent before that can arrive after it.
                assert _received(listener, "STATUS=stuck: camera call preview", prefix=True)
                assert "preview" in service.health()
                assert not _received(listener, "WATCHDOG=1", tries=10)
            finally:
                stop.set()
                camera.release.set()  # unwedged: the service can close the camera
    finally:
        listener.close()


def _received(listener: socket.socket, wanted: str, tries: int = 50, prefix: bool = False) -> bool:
    """Whether a datagram with the line `wanted` (or a line starting so) comes within `tries`
    waits of 0.2 s; datagrams before it are read and dropped."""
    for _ in range(tries):
        try:
            lines = listener.recv(4096).decode().splitlines()
        except TimeoutError:
            continue
        if any(line == wanted or (prefix and line.startswith(wanted)) for line in lines):
            return True
    return False


def test_refusals_before_the_shot_store_nothing(box, dossier_code):
    cable = Cable()
    service = CaptureService(box, lambda: CabledCamera(cable), box.config.settings.capture,
                             hand_detector=no_hands)
    try:
        with pytest.raises(StateError, match="no target"):
            service.shoot(1)
        service.set_target(dossier_code, None)
        with pytest.raises(CameraUnavailableError, match="not available"):
            service.shoot(1)  # never started: no camera yet
        assert box.db.conn.execute("SELECT count(*) FROM captures").fetchone()[0] == 0
    finally:
        service.close()


@pytest.fixture
def tiny_disk(tmp_path):
    """A 24 MiB tmpfs mounted for this test (root only), unmounted afterwards."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0755", "tmpfs",
                             str(mount_point)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=True)


def _fill(folder: Path) -> None:
    """Write until the file system refuses: a really full disk."""
    chunk = b"\0" * 65536
    with (folder / "filler").open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        try:
            while True:  # the last few bytes too
                handle.write(b"\0" * 512)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def _stored(sohoa) -> tuple:
    dump, paths = sohoa.snapshot()
    return dump, [path for path in paths if (sohoa.data / path).is_file()]


def test_a_really_full_disk_fails_the_shot_cleanly(tiny_disk, tmp_path):
    from device.box import Box
    from device.catalog.dossiers import create_dossier
    from device.config import load_config
    from device.provision import init_box
    from tests.device.cli.conftest import Sohoa

    config_file = tmp_path / "tiny.toml"
    config_file.write_text(BOX_CONFIG + CAPTURE_CONFIG, encoding="utf-8")
    data = tiny_disk / "data"
    config = load_config(config_file, data, environ={})
    init_box(config, actor="test")
    with Box.open(config) as box:
        code = create_dossier(box, dict(VALID_DOSSIER), actor="test")
        service = CaptureService(box, lambda: CabledCamera(Cable()), config.settings.capture,
                                 hand_detector=no_hands)
        service.start()
        try:
            wait_for(lambda: _available(service), "the camera")
            service.set_target(code, None)
            [stored] = service.shoot(1)
            _fill(tiny_disk)
            before = _stored(Sohoa(data, config_file))
            with pytest.raises(StorageFullError, match="not enough free space"):
                service.shoot(1)  # the floor check: refused before anything is written
            box.blobs.min_free_bytes = -(2**40)  # as if the estimate were wrong: the write itself fails
            with pytest.raises(StorageFullError, match="disk is full"):
                service.shoot(1)
            # Nothing half-written: the same rows and blob files (the blob store may leave an
            # empty prefix folder behind, which holds nothing).
            assert _stored(Sohoa(data, config_file)) == before
            assert not box.blobs.leftover_temp_files()
            assert [p.name for p in data.glob("*.tmp")] == []
            assert box.blobs.verify(stored.sha256)
            (tiny_disk / "filler").unlink()
            assert service.shoot(1)[0].position == 2  # space again: shooting resumes
        finally:
            service.close()


def test_a_service_error_from_the_socket_carries_the_exit_code_of_its_kind():
    error = ServiceError("x", key="storage_full", status=507)
    assert error.exit_code == StorageFullError.exit_code


def test_each_preview_frame_is_encoded_once_for_every_viewer(box):
    with running_service(box, lambda: CabledCamera(Cable())) as (service, _):
        frame = service.wait_preview(0, timeout=20)
        assert frame is not None
        assert frame.jpeg() is frame.jpeg()  # the second viewer gets the first one's bytes
        assert service.wait_preview(frame.seq, timeout=20).seq > frame.seq


@pytest.mark.parametrize("shape, fitted", [
    ((1080, 1920, 3), (360, 640, 3)),   # landscape: long side to 640
    ((1920, 1080, 3), (640, 360, 3)),   # portrait keeps its orientation
    ((480, 640, 3), (480, 640, 3)),     # already fits: untouched
    ((240, 320, 3), (240, 320, 3)),     # never enlarged
])
def test_preview_frames_fit_the_box_in_their_own_orientation(shape, fitted):
    from device.capture.preview import fit_preview

    assert fit_preview(np.zeros(shape, np.uint8), 640, 480).shape == fitted


class JammingScanner(CabledCamera):
    """A feeder scanner whose next capture jams (SANE's own status), then works again."""

    jam_next = False

    def capture(self) -> Capture:
        if self.jam_next:
            self.jam_next = False
            raise PaperJamError("the scanner reports: Document feeder jammed",
                                message_vi="Kẹt giấy trong khay nạp.")
        return super().capture()


def test_a_paper_jam_refuses_that_shot_but_keeps_the_scanner_open(box, dossier_code):
    cable = Cable()
    scanners: list[JammingScanner] = []

    def make() -> JammingScanner:
        scanners.append(JammingScanner(cable))
        return scanners[-1]

    with running_service(box, make) as (service, client):
        wait_for(lambda: service.status()["camera"]["available"], "the scanner to open")
        client.set_target(dossier_code)
        scanners[-1].jam_next = True
        with pytest.raises(ServiceError, match="jammed"):
            client.shoot(1)
        assert service.status()["camera"]["available"]  # not closed and reopened for a jam
        [page] = client.shoot(1)["pages"]  # the operator cleared the jam: the next shot works
    assert cable.opened == 1 and page["position"] == 1
    assert box.db.conn.execute("SELECT count(*) FROM captures").fetchone()[0] == 1
