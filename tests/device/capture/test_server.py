"""The capture service through its Unix socket: preview while shooting, a burst of 100, a camera
unplugged and back, bad requests, the socket's permissions."""

from __future__ import annotations

import json
import socket
import stat
import threading

import cv2
import numpy as np
import pytest

from device.capture.client import CaptureClient, ServiceError, ServiceUnavailableError, socket_path
from device.capture.server import MAX_BODY
from device.db.jobs import job_by_subject
from tests.device.capture.conftest import SMALL, Cable, CabledCamera, running_service, wait_for
from tests.device.cli.conftest import Sohoa


@pytest.fixture
def sohoa(box, tmp_path, config_file) -> Sohoa:
    """The `sohoa` command on the same data directory as `box`."""
    return Sohoa(tmp_path / "data", config_file)


@pytest.fixture
def cable() -> Cable:
    return Cable()


@pytest.fixture
def service(box, cable):
    with running_service(box, lambda: CabledCamera(cable)) as running:
        wait_for(lambda: running[0].status()["camera"]["available"], "the camera to open")
        yield running


def _decodes(jpeg: bytes) -> bool:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    return image is not None and image.shape[:2] == (640, 480)


def test_preview_keeps_coming_while_ten_shots_are_taken(service, dossier_code):
    _, client = service
    client.set_target(dossier_code)
    frames: list[bytes] = []
    during: list[int] = []
    shooting, stop = threading.Event(), threading.Event()

    def watch() -> None:
        with CaptureClient(client.path) as viewer:
            for frame in viewer.preview_frames():
                frames.append(frame)
                if shooting.is_set():
                    during.append(len(frames))
                if stop.is_set():
                    return

    viewer = threading.Thread(target=watch)
    viewer.start()
    wait_for(lambda: frames, "the first preview frame")
    shooting.set()
    pages = [client.shoot(1)["pages"][0] for _ in range(10)]
    shooting.clear()
    seen = len(frames)
    wait_for(lambda: len(frames) > seen + 3, "preview frames after the shots")
    stop.set()
    viewer.join(timeout=10)
    assert [page["position"] for page in pages] == list(range(1, 11))
    assert len(during) >= 10  # frames kept arriving during the shots, not only after them
    assert all(_decodes(frame) for frame in frames[-5:])
    assert _decodes(client.preview_jpeg())


def test_a_burst_of_100_captures_through_the_socket(service, box, dossier_code):
    _, client = service
    client.set_target(dossier_code)
    answers: list[dict] = []
    errors: list[Exception] = []

    def shooter() -> None:  # four clients at once: the service serializes them
        try:
            with CaptureClient(client.path, timeout=60) as own:
                for _ in range(25):
                    answers.extend(own.shoot(1)["pages"])
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=shooter) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(answers) == 100
    assert sorted(page["position"] for page in answers) == list(range(1, 101))
    assert {page["docId"] for page in answers} == {f"{dossier_code}.1"}
    rows = box.db.conn.execute("SELECT p.id, p.position, c.raw_sha256 FROM pages p JOIN captures c"
                               " ON c.id = p.capture_id ORDER BY p.position").fetchall()
    assert [row[1] for row in rows] == list(range(1, 101))
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)  # stored in shutter order
    acknowledged = {page["page"]: page["sha256"] for page in answers}
    for page_id, _, sha256 in rows:
        assert acknowledged[page_id] == sha256
        assert box.blobs.verify(sha256)
        assert job_by_subject(box.db, "process_page", f"page:{page_id}")["state"] == "queued"
    assert box.db.conn.execute("SELECT count(*) FROM jobs").fetchone()[0] == 100
    assert client.status()["shots"] == 100


def test_camera_unplugged_and_back_without_a_restart(service, cable, dossier_code, sohoa):
    _, client = service
    client.set_target(dossier_code)
    client.shoot(1)
    cable.plugged = False
    wait_for(lambda: not client.status()["camera"]["available"], "the failure to be noticed")
    status = client.status()
    assert "disconnected" in status["camera"]["reason"] and status["camera"]["reason_vi"]
    before = sohoa.snapshot()
    with pytest.raises(ServiceError) as refused:
        client.shoot(1)
    assert refused.value.status == 503 and refused.value.key == "camera_unavailable"
    assert "not available" in str(refused.value) and refused.value.message_vi.startswith("Máy ảnh")
    assert sohoa.snapshot() == before
    opened = cable.opened
    cable.plugged = True
    wait_for(lambda: client.status()["camera"]["available"], "the camera to be reopened")
    assert cable.opened > opened  # a new camera object, as after a real unplug
    [page] = client.shoot(1)["pages"]
    assert page["position"] == 2
    wait_for(lambda: client.status()["preview"]["fps"] > 0, "the preview to resume")


def test_a_camera_failing_during_a_shot_stores_nothing_for_it(service, cable, dossier_code, sohoa):
    _, client = service
    client.set_target(dossier_code)
    client.shoot(1)
    before = sohoa.snapshot()
    cable.pull_at_next_capture = True
    with pytest.raises(ServiceError) as failed:
        client.shoot(3)
    assert failed.value.status == 503 and "disconnected" in str(failed.value)
    assert failed.value.body.get("pages") is None  # nothing was stored before the failure
    assert sohoa.snapshot() == before
    assert not client.status()["camera"]["available"]


BAD_REQUESTS = [
    ("POST", "/shoot", b"{not json", 400, "bad_request"),
    ("POST", "/shoot", b"[1]", 400, "bad_request"),
    ("POST", "/shoot", b'{"count": 0}', 400, "bad_request"),
    ("POST", "/shoot", b'{"count": 101}', 400, "bad_request"),
    ("POST", "/shoot", b'{"count": "3"}', 400, "bad_request"),
    ("POST", "/shoot", b'{"count": true}', 400, "bad_request"),
    ("POST", "/shoot", b'{"count": 1, "defect": "blur"}', 400, "bad_request"),
    ("POST", "/shoot", b'{"actor": ""}', 400, "bad_request"),
    ("POST", "/shoot", b"\xff\xfe", 400, "bad_request"),
    ("PUT", "/target", b"", 400, "bad_request"),
    ("PUT", "/target", b'{"document": 1}', 400, "bad_request"),
    ("PUT", "/target", b'{"dossier": "H49.64.33.2001.160", "document": "1"}', 400, "bad_request"),
    ("PUT", "/target", b'{"dossier": "H49.64.33.2001.160", "document": 0}', 400, "bad_request"),
    ("PUT", "/target", b'{"dossier": "H49.64.33.2001.160", "document": 7}', 404, "not_found"),
    ("PUT", "/target", b'{"dossier": "H49.64.33.2001.999"}', 404, "not_found"),
    ("PUT", "/target", b'{"dossier": 5}', 400, "bad_request"),
    ("POST", "/target", b"{}", 405, "method_not_allowed"),
    ("DELETE", "/shoot", b"", 501, None),  # a method no endpoint has: the stdlib's own answer
    ("GET", "/../sohoa.db", b"", 404, "not_found"),
    ("POST", "/shoot", b"{" + b" " * MAX_BODY + b"}", 413, "too_large"),
]


@pytest.mark.parametrize("method, path, body, status, key", BAD_REQUESTS,
                         ids=[f"{m} {p} {b[:24]!r}" for m, p, b, *_ in BAD_REQUESTS])
def test_bad_requests_are_answered_with_a_json_error_and_change_nothing(
        service, dossier_code, sohoa, method, path, body, status, key):
    _, client = service
    client.set_target(dossier_code)
    [first] = client.shoot(1)["pages"]
    client.set_target(dossier_code, 1)
    before, target = sohoa.snapshot(), client.target()
    response = client._http.request(method, path, content=body)
    assert response.status_code == status, response.text
    if key is not None:
        answer = response.json()
        assert answer["error"] == key and answer["message"] and answer["message_vi"]
    assert sohoa.snapshot() == before and client.target() == target
    assert client.shoot(1)["pages"][0]["position"] == first["position"] + 1  # still serving


def test_a_closed_dossier_is_refused_as_a_target_and_for_shots(service, box, dossier_code, sohoa):
    from device.catalog.dossiers import move

    _, client = service
    client.set_target(dossier_code)
    client.shoot(1)
    move(box, dossier_code, "submit", actor="test")  # in review: pages may not change
    before, target = sohoa.snapshot(), client.target()
    with pytest.raises(ServiceError) as refused:
        client.shoot(1)
    assert refused.value.status == 409 and "reopen it" in str(refused.value)
    with pytest.raises(ServiceError) as retarget:
        client.set_target(dossier_code, None)
    assert retarget.value.status == 409 and retarget.value.message_vi
    assert sohoa.snapshot() == before and client.target() == target


def test_free_space_below_the_floor_refuses_the_shot_before_writing(service, box, dossier_code, sohoa):
    _, client = service
    client.set_target(dossier_code)
    box.blobs.min_free_bytes = box.blobs.free_bytes() + 2**30  # as storage.min_free_mb would
    before = sohoa.snapshot()
    with pytest.raises(ServiceError) as refused:
        client.shoot(1)
    assert refused.value.status == 507 and refused.value.key == "storage_full"
    assert "not enough free space" in str(refused.value) and "Bộ nhớ" in refused.value.message_vi
    assert sohoa.snapshot() == before
    assert not box.blobs.leftover_temp_files()


def test_the_socket_is_for_the_owner_and_group_only(service, box):
    path = socket_path(box.config)
    assert stat.S_ISSOCK(path.lstat().st_mode)
    assert stat.S_IMODE(path.lstat().st_mode) == 0o660
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o750


def test_a_second_service_on_a_live_socket_is_refused(service, box, cable):
    from device.errors import StateError

    with pytest.raises(StateError, match="already listening"):
        with running_service(box, lambda: CabledCamera(cable)):
            pass  # pragma: no cover (never reached)
    assert service[1].status()["camera"]["available"]  # the first one still answers


def test_a_stale_socket_left_by_a_crash_is_replaced(box, cable):
    path = socket_path(box.config)
    path.parent.mkdir(parents=True, exist_ok=True)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))  # bound, never listening, then abandoned: as after SIGKILL
    stale.close()
    with running_service(box, lambda: CabledCamera(cable)) as (_, client):
        assert client.status()["camera"]["kind"] == "simulated"


def test_without_a_service_the_client_says_it_is_not_running(tmp_path):
    client = CaptureClient(tmp_path / "capture.sock")
    assert not client.is_serving()
    with pytest.raises(ServiceUnavailableError, match="not running"):
        client.status()


def test_status_reports_camera_target_preview_and_shots(service, dossier_code):
    _, client = service
    client.set_target(dossier_code)
    client.shoot(2)
    wait_for(lambda: client.status()["preview"]["fps"] > 0, "the preview rate")
    status = client.status()
    assert status["camera"]["capabilities"]["max_resolution"] == list(SMALL)
    assert status["target"] == {"dossier": dossier_code, "document": 1,
                                "docId": f"{dossier_code}.1", "next_position": 3, "layout": "page"}
    assert status["shots"] == 2 and status["problem"] is None
    assert (status["preview"]["width"], status["preview"]["height"]) == (480, 640)
    json.dumps(status)  # plain JSON all the way down
