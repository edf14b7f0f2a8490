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


# -- retakes, counts, auto-capture, keys' elements ------------------------------------------


def _post_json(session, path, body):
    return session.client.post(path, json=body, headers={"X-CSRFToken": session.token})


def test_a_flagged_page_is_retaken_in_place_from_the_screen(service, login, box, dossier_code):
    cameras, _client = service
    session = login("operator")
    session.post("/capture/target", {"dossier": dossier_code})
    _shoot(session)
    cameras[-1].defect = "blur"
    flagged = _shoot(session).get_json()["pages"][0]
    assert [f["key"] for f in flagged["flags"]] == ["blur"]
    before = session.get("/capture/recent.json").get_json()

    screen = session.get(f"/capture?retake={flagged['page']}").get_data(as_text=True)
    assert f'data-page-id="{flagged["page"]}"' in screen
    assert f"Lần chụp tới sẽ THAY trang 2 của tài liệu {dossier_code}.1" in screen

    answer = _post_json(session, "/capture/shoot", {"retake": flagged["page"]})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    [retaken] = answer.get_json()["pages"]
    assert (retaken["page"], retaken["position"], retaken["flags"]) == (flagged["page"], 2, [])
    after = session.get("/capture/recent.json").get_json()
    assert [p["page"] for p in after["pages"]] == [p["page"] for p in before["pages"]]
    assert after["pages"][0]["flags"] == []  # the blur flag of the old shot no longer shows
    assert after["pages"][0]["thumb"] != before["pages"][0]["thumb"]  # not the cached old image
    assert after["counts"] == before["counts"] == {"document": 2, "dossier": 2, "documents": 1}
    retakes = [e for e in events_for(box.db, "page", flagged["page"]) if e["action"] == "page.retake"]
    assert [e["actor"] for e in retakes] == ["web:operator"]


def test_a_retake_outside_the_target_is_refused_and_the_screen_offers_to_aim_there(
        service, login, box, dossier_code):
    from device.catalog.dossiers import create_dossier
    from tests.conftest import VALID_DOSSIER

    session = login("operator")
    other = create_dossier(box, dict(VALID_DOSSIER, fileCode="H49.64.33.2001.161"), actor="test")
    session.post("/capture/target", {"dossier": other})
    page = _shoot(session).get_json()["pages"][0]["page"]
    session.post("/capture/target", {"dossier": dossier_code})
    captures = box.db.conn.execute("SELECT count(*) FROM captures").fetchone()[0]

    refused = _post_json(session, "/capture/shoot", {"retake": page})
    assert refused.status_code == 409
    assert "thuộc hồ sơ H49.64.33.2001.161" in refused.get_json()["message_vi"]
    assert box.db.conn.execute("SELECT count(*) FROM captures").fetchone()[0] == captures

    screen = session.get(f"/capture?retake={page}").get_data(as_text=True)
    assert "thuộc hồ sơ H49.64.33.2001.161" in screen and 'id="aim-form"' in screen
    aimed = session.post("/capture/target", {"dossier": other, "document": "1", "retake": str(page)})
    assert aimed.headers["Location"].endswith(f"/capture?retake={page}")
    armed = session.get(aimed.headers["Location"]).get_data(as_text=True)
    assert f"Lần chụp tới sẽ THAY trang 1 của tài liệu {other}.1" in armed
    bad = session.get("/capture?retake=abc").get_data(as_text=True)
    assert "Số trang cần chụp lại không hợp lệ." in bad


def test_shots_from_the_pedal_show_with_the_counts(service, login, dossier_code):
    _cameras, client = service
    session = login("operator")
    session.post("/capture/target", {"dossier": dossier_code})
    _shoot(session)
    client.shoot(1, actor="trigger:pedal")  # the pedal shoots through the service, not the page
    recent = session.get("/capture/recent.json").get_json()
    assert [p["position"] for p in recent["pages"]] == [2, 1]
    assert recent["counts"] == {"document": 2, "dossier": 2, "documents": 1}
    session.post("/capture/target", {"dossier": dossier_code})  # "new document" (key N)
    recent = session.get("/capture/recent.json").get_json()
    assert recent["counts"] == {"document": 0, "dossier": 2, "documents": 1}
    screen = session.get("/capture").get_data(as_text=True)
    assert 'id="count-document" data-count="0"' in screen and 'id="count-dossier" data-count="2"' in screen
    assert "Cả hồ sơ: 2 trang, 1 tài liệu" in screen


def test_the_screen_carries_the_elements_the_keys_and_tests_use(service, login, dossier_code):
    session = login("operator")
    session.post("/capture/target", {"dossier": dossier_code})
    screen = session.get("/capture").get_data(as_text=True)
    for marker in ('id="shutter"', 'id="auto-toggle"', 'id="new-document-form"', 'id="retake-banner"',
                   'id="retake-cancel"', 'id="recent"', 'id="shot-status"', "capture.js", "capture.css"):
        assert marker in screen, marker
    assert " style=" not in screen and "onclick" not in screen and "<script>" not in screen


def test_without_auto_capture_set_up_the_switch_says_so(service, login, box):
    session = login("operator")
    screen = session.get("/capture").get_data(as_text=True)
    assert "Máy này chưa cài đặt chụp tự động." in screen and 'data-available="no"' in screen
    answer = _post_json(session, "/capture/auto", {"enabled": True})
    assert answer.status_code == 409
    assert answer.get_json()["message_vi"].startswith("Máy này chưa cài đặt chụp tự động")
    assert _post_json(session, "/capture/auto", {"enabled": "on"}).status_code == 400
    no_token = session.client.post("/capture/auto", json={"enabled": False})
    assert no_token.status_code == 400 and no_token.get_json()["error"] == "csrf"


@pytest.fixture
def auto_service(tmp_path, box):
    from device.box import Box
    from device.config import load_config
    from tests.device.capture.conftest import no_hands

    path = tmp_path / "sohoa-auto.toml"
    path.write_text(BOX_CONFIG + CAPTURE_CONFIG + "\n[capture.triggers.auto]\nenabled = true\n",
                    encoding="utf-8")
    with Box.open(load_config(path, tmp_path / "data", environ={})) as service_box, \
            running_service(service_box, lambda: CabledCamera(Cable()), hand_detector=no_hands) as running:
        yield running


def test_auto_capture_is_switched_from_the_screen_and_audited(auto_service, login, box):
    session = login("operator")
    screen = session.get("/capture").get_data(as_text=True)
    assert 'data-enabled="yes"' in screen and "Chụp tự động: BẬT (A)" in screen
    off = _post_json(session, "/capture/auto", {"enabled": False})
    assert off.status_code == 200 and off.get_json()["auto"]["enabled"] is False
    assert off.get_json()["auto"]["text"] == "Chụp tự động: TẮT (A)"
    assert session.get("/capture/recent.json").get_json()["auto"]["enabled"] is False
    switched = [e for e in events_for(box.db) if e["action"] == "capture.auto"]
    assert [(e["actor"], e["details"]) for e in switched] == [("web:operator", {"enabled": False})]


def test_a_retake_armed_on_the_screen_is_taken_by_the_pedal(service, login, box, dossier_code):
    _cameras, client = service
    session = login("operator")
    session.post("/capture/target", {"dossier": dossier_code})
    first = _shoot(session).get_json()["pages"][0]
    _shoot(session)
    armed = _post_json(session, "/capture/retake", {"page": first["page"]})
    assert armed.status_code == 200
    assert armed.get_json()["retake"] == {"page": first["page"], "position": 1,
                                          "docId": f"{dossier_code}.1"}
    assert session.get("/capture/recent.json").get_json()["retake"]["page"] == first["page"]
    screen = session.get("/capture").get_data(as_text=True)  # a reload still shows it armed
    assert f"Lần chụp tới sẽ THAY trang 1 của tài liệu {dossier_code}.1" in screen

    client.shoot(1, actor="trigger:pedal")

    recent = session.get("/capture/recent.json").get_json()
    assert recent["retake"] is None and recent["counts"]["document"] == 2
    retakes = [e for e in events_for(box.db, "page", first["page"]) if e["action"] == "page.retake"]
    assert [e["actor"] for e in retakes] == ["trigger:pedal"]
    assert _post_json(session, "/capture/retake", {"page": "1"}).status_code == 400
    assert _post_json(session, "/capture/retake", {"page": 999}).status_code == 404
    assert _post_json(session, "/capture/retake", {"page": None}).get_json() == {"retake": None}
