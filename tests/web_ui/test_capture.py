"""The capture screen against a real capture service on its Unix socket (simulated camera,
small frames): target, shutter, QC flags, last shots, the preview proxied, and the service down."""

from __future__ import annotations

import json

import pytest

from device.capture.camera import Capture
from device.db import records
from device.db.events import events_for
from device.db.pages import pages_of
from tests.conftest import BOX_CONFIG
from tests.device.capture.conftest import CAPTURE_CONFIG, Cable, CabledCamera, running_service, wait_for

JPEG_START = b"\xff\xd8"


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "sohoa.toml"
    path.write_text(BOX_CONFIG + CAPTURE_CONFIG, encoding="utf-8")
    return path


class DefectCamera(CabledCamera):
    """The simulated camera; the next shot gets `defect` (e.g. "blur") when one is set."""

    defect: str | None = None

    def capture(self) -> Capture:
        if self.defect is None:
            return super().capture()
        defect, self.defect = self.defect, None
        return self.real.capture(defects=defect)


@pytest.fixture
def service(box):
    cameras: list[DefectCamera] = []

    def make() -> DefectCamera:
        cameras.append(DefectCamera(Cable()))
        return cameras[-1]

    with running_service(box, make) as (running, client):
        wait_for(lambda: running.status()["camera"]["available"], "the camera to open")
        yield cameras, client


def _shoot(session):
    return session.client.post("/capture/shoot", json={}, headers={"X-CSRFToken": session.token})


def test_shoot_stores_a_page_and_answers_its_qc(service, login, box, dossier_code):
    cameras, _client = service
    session = login("operator")
    target = session.post("/capture/target", {"dossier": dossier_code})
    assert target.status_code == 303
    screen = session.get("/capture").get_data(as_text=True)
    assert dossier_code in screen and "Tài liệu mới" in screen

    answer = _shoot(session)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    [shot] = answer.get_json()["pages"]
    assert shot["docId"] == f"{dossier_code}.1" and shot["position"] == 1
    assert shot["flags"] == [] and shot["ok"] is True
    dossier = records.dossier_by_code(box.db, dossier_code)
    [document] = records.documents_of(box.db, dossier["id"])
    assert [page["id"] for page in pages_of(box.db, document["id"])] == [shot["page"]]
    captured = [e for e in events_for(box.db) if e["action"] == "page.capture"]
    assert [e["actor"] for e in captured] == ["web:operator"]

    cameras[-1].defect = "blur"
    blurred = _shoot(session).get_json()["pages"][0]
    assert blurred["position"] == 2
    assert [(f["key"], f["text"]) for f in blurred["flags"]] == [("blur", "Ảnh bị mờ")]

    recent = session.get("/capture/recent.json").get_json()
    assert [p["position"] for p in recent["pages"]] == [2, 1]
    assert [f["reason_key"] for f in recent["pages"][0]["flags"]] == ["qc.blur"]
    assert recent["target"]["docId"] == f"{dossier_code}.1"
    with session.get(recent["pages"][0]["thumb"]) as thumb:
        assert thumb.status_code == 200 and thumb.data.startswith(JPEG_START)


def test_new_document_from_the_screen_starts_the_next_document(service, login, dossier_code):
    session = login("operator")
    session.post("/capture/target", {"dossier": dossier_code})
    assert _shoot(session).get_json()["pages"][0]["docId"] == f"{dossier_code}.1"
    session.post("/capture/target", {"dossier": dossier_code})
    assert _shoot(session).get_json()["pages"][0]["docId"] == f"{dossier_code}.2"


def test_a_shot_refused_by_the_service_is_explained_in_vietnamese(service, login, box):
    session = login("operator")
    answer = _shoot(session)  # no target chosen yet
    assert answer.status_code >= 400
    body = answer.get_json()
    assert body["message_vi"] and body["message_vi"] != body["message"]
    assert box.db.conn.execute("SELECT count(*) FROM pages").fetchone()[0] == 0


def test_target_must_be_an_existing_dossier(service, login):
    session = login("operator")
    answer = session.post("/capture/target", {"dossier": "H49.64.33.1999.1"})
    page = session.client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Không có hồ sơ “H49.64.33.1999.1”" in page


def test_the_preview_is_proxied_from_the_service(service, login):
    session = login("operator")
    with session.get("/capture/preview.jpg") as still:
        assert still.status_code == 200 and still.data.startswith(JPEG_START)
    with session.get("/capture/preview.mjpg", buffered=False) as stream:
        assert stream.mimetype == "multipart/x-mixed-replace"
        first = next(iter(stream.response))
        head, _, body = first.partition(b"\r\n\r\n")
        assert head.startswith(b"--sohoaframe\r\nContent-Type: image/jpeg")
        length = int(head.split(b"Content-Length: ")[1])
        assert body[:length].startswith(JPEG_START) and len(body) == length + 2


def test_without_the_service_the_screen_says_so(login, box):
    session = login("operator")
    screen = session.get("/capture").get_data(as_text=True)
    assert "Dịch vụ chụp chưa chạy." in screen
    assert "preview.mjpg" not in screen
    answer = _shoot(session)
    assert answer.status_code == 503
    assert answer.get_json()["message_vi"].startswith("Dịch vụ chụp chưa chạy.")
    with session.get("/capture/preview.mjpg") as stream:
        assert stream.status_code == 503
    assert json.loads(session.get("/capture/recent.json").data)["error"] == "capture_unavailable"
