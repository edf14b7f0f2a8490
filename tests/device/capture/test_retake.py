"""Retakes and the auto-capture switch through the capture service's Unix socket: a retake
replaces a page's capture in place (kept: the old capture, the page's id and place; cleared: its
QC, text and search entry; queued again; audited), is refused with nothing stored when the page
is elsewhere or the dossier closed, and works from the CLI; auto-capture is switched at run time."""

from __future__ import annotations

import pytest

from device.capture.client import ServiceError
from device.catalog.dossiers import create_dossier, move
from device.db import transaction
from device.db.events import events_for
from device.db.jobs import claim_next_job, finish_job, job_by_subject
from device.db.pages import finish_page, page_by_id
from device.db.search import index_page_text, search_pages
from device.intake import PROCESS_PAGE
from tests.conftest import BOX_CONFIG, VALID_DOSSIER
from tests.device.capture.conftest import CAPTURE_CONFIG, Cable, CabledCamera, no_hands, running_service, wait_for


@pytest.fixture
def service(box):
    with running_service(box, lambda: CabledCamera(Cable()), hand_detector=no_hands) as running:
        wait_for(lambda: running[0].status()["camera"]["available"], "the camera to open")
        yield running


def _count(box, table: str) -> int:
    return box.db.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _processed(box, page_id: int, text: str) -> None:
    """What the worker leaves behind for a page: its job done, QC flags, OCR text indexed."""
    job = claim_next_job(box.db, "test:1", 60.0, kinds=(PROCESS_PAGE,))
    while job is not None and job.subject != f"page:{page_id}":
        finish_job(box.db, job, "test:1")
        job = claim_next_job(box.db, "test:1", 60.0, kinds=(PROCESS_PAGE,))
    assert job is not None
    raw = page_by_id(box.db, page_id)["raw_sha256"]
    with transaction(box.db):
        finish_job(box.db, job, "test:1")
        finish_page(box.db, page_id, master_sha256=raw, ocr_image_sha256=None, hocr_sha256=raw,
                    dpi=300.0, qc_flags={"blur": {"flagged": True, "score": 0.9,
                                                  "reason_key": "qc.blur", "by": ["pipeline"]}},
                    blank=False, text=text, confidence=91.0, engine="tesseract", model_sha256="0" * 64)
        index_page_text(box.db, page_id, text)


def test_a_retake_replaces_the_page_in_place_and_queues_it_again(service, box, dossier_code):
    _, client = service
    client.set_target(dossier_code)
    shot = [client.shoot(1)["pages"][0] for _ in range(3)]
    second = shot[1]["page"]
    _processed(box, second, "Quyết định thành lập xã")
    assert search_pages(box.db, "quyet dinh")
    before = page_by_id(box.db, second)

    answer = client.shoot(1, actor="web:operator", retake=second)

    [retaken] = answer["pages"]
    assert (retaken["page"], retaken["position"], retaken["docId"]) == (second, 2, f"{dossier_code}.1")
    assert answer["retake"] == second
    after = page_by_id(box.db, second)
    assert after["capture_id"] == retaken["capture"] != before["capture_id"]
    assert (after["document_id"], after["position"], after["side"]) == \
        (before["document_id"], before["position"], before["side"])
    assert after["raw_sha256"] == retaken["sha256"] and box.blobs.verify(retaken["sha256"])
    # the old capture is kept, row and blob; no page was added
    old = box.db.conn.execute("SELECT raw_sha256 FROM captures WHERE id = ?",
                              (before["capture_id"],)).fetchone()
    assert old == (before["raw_sha256"],) and box.blobs.verify(before["raw_sha256"])
    assert _count(box, "pages") == 3 and _count(box, "captures") == 4
    # what was made from the old capture no longer shows; the page waits for the worker
    assert after["state"] == "new" and after["qc_flags"] == {} and after["ocr_text"] is None
    assert after["master_sha256"] is None and search_pages(box.db, "quyet dinh") == []
    job = job_by_subject(box.db, PROCESS_PAGE, f"page:{second}")
    assert (job["state"], job["attempts"]) == ("queued", 0)
    [event] = [e for e in events_for(box.db, "page", second) if e["action"] == "page.retake"]
    assert event["actor"] == "web:operator"
    assert event["details"]["replaced_capture"] == before["capture_id"]
    assert event["details"]["capture"] == retaken["capture"]
    # the target did not move: the next shot is page 4
    assert answer["target"]["next_position"] == 4
    assert client.shoot(1)["pages"][0]["position"] == 4


def test_a_retake_is_refused_with_nothing_stored_when_it_cannot_apply(service, box, dossier_code):
    _, client = service
    other = create_dossier(box, dict(VALID_DOSSIER, fileCode="H49.64.33.2001.161"), actor="test")
    client.set_target(other)
    elsewhere = client.shoot(1)["pages"][0]["page"]
    client.set_target(dossier_code)
    here = client.shoot(1)["pages"][0]["page"]
    stored = _count(box, "captures")

    cases = [(elsewhere, 1, 409, "H49.64.33.2001.161"), (999, 1, 404, "Không có trang"),
             ("2", 1, 400, "không hợp lệ"), (here, 2, 400, "một trang")]
    for retake, count, status, words in cases:
        with pytest.raises(ServiceError) as refused:
            client.shoot(count, retake=retake)
        assert refused.value.status == status, retake
        assert words in refused.value.message_vi

    move(box, dossier_code, "submit", actor="test")
    with pytest.raises(ServiceError) as closed:
        client.shoot(1, retake=here)
    assert closed.value.status == 409 and "trạng thái" in closed.value.message_vi
    assert _count(box, "captures") == stored
    assert not [e for e in events_for(box.db) if e["action"] == "page.retake"]


def test_the_page_after_a_retake_is_checked_against_the_last_page_not_the_retaken_one(
        service, box, dossier_code):
    _, client = service
    client.set_target(dossier_code)
    first = client.shoot(1)["pages"][0]["page"]
    client.shoot(1)
    client.shoot(1, retake=first)
    # the simulated camera shows each page once; a retake takes a fresh one, so it is no
    # duplicate of page 1's neighbour, and the next page is not compared with it
    newest = client.shoot(1)["pages"][0]
    assert newest["position"] == 3 and "duplicate" not in [f["key"] for f in newest["flags"]]


def test_the_cli_retakes_through_the_service(service, box, tmp_path, config_file, dossier_code):
    _, client = service
    client.set_target(dossier_code)
    page = client.shoot(1)["pages"][0]
    from tests.device.cli.conftest import Sohoa  # the whole CLI: only for these two tests

    sohoa = Sohoa(tmp_path / "data", config_file)
    result = sohoa("capture", "shoot", "--retake", str(page["page"]), "--json")
    assert result.exit_code == 0, result.output
    assert page_by_id(box.db, page["page"])["capture_id"] != page["capture"]
    refused = sohoa("capture", "shoot", "--retake", str(page["page"]), "--count", "2")
    assert refused.exit_code == 65 and "one shot" in refused.output


def test_the_cli_retakes_with_its_own_camera_when_no_service_runs(box, tmp_path, config_file,
                                                                   dossier_code):
    from tests.device.cli.conftest import Sohoa  # the whole CLI: only for these two tests

    sohoa = Sohoa(tmp_path / "data", config_file)
    shot = sohoa("capture", "shoot", "--dossier", dossier_code, "--json")
    assert shot.exit_code == 0, shot.output
    page_id = page_by_id(box.db, 1)["id"]
    before = page_by_id(box.db, page_id)["capture_id"]
    retaken = sohoa("capture", "shoot", "--retake", str(page_id))
    assert retaken.exit_code == 0, retaken.output
    assert retaken.output.startswith(f"retake of page {page_id}: ")
    assert page_by_id(box.db, page_id)["capture_id"] != before
    assert _count(box, "pages") == 1


def test_an_armed_retake_is_taken_by_the_next_shot_whoever_fires_it(service, box, dossier_code):
    running, client = service
    client.set_target(dossier_code)
    first, _second = (client.shoot(1)["pages"][0] for _ in range(2))
    assert client.arm_retake(first["page"]) == first["page"]
    assert client.status()["retake"] == first["page"]

    running.fire("pedal")  # the pedal's shot, as its trigger thread makes it

    assert page_by_id(box.db, first["page"])["capture_id"] != first["capture"]
    assert _count(box, "pages") == 2 and client.status()["retake"] is None
    [event] = [e for e in events_for(box.db) if e["action"] == "page.retake"]
    assert event["actor"] == "trigger:pedal"
    assert client.shoot(1)["pages"][0]["position"] == 3  # disarmed: the next shot adds a page


def test_arming_and_cancelling_are_audited_and_the_retake_names_who_armed_and_what_fired(
        service, box, dossier_code):
    running, client = service
    client.set_target(dossier_code)
    first, second = (client.shoot(1)["pages"][0]["page"] for _ in range(2))

    client.arm_retake(first, actor="web:vanthu")
    client.arm_retake(second, actor="web:kiemduyet")  # another screen arms another page
    client.arm_retake(None, actor="cli:root")
    client.arm_retake(first, actor="web:vanthu")
    running.fire("pedal")  # the pedal, pressed later, takes the armed shot
    client.arm_retake(second, actor="web:vanthu")
    client.set_target(dossier_code)  # "new document" drops it, by the service itself

    trail = [(e["actor"], e["action"], e["object_id"], e["details"]) for e in events_for(box.db)
             if e["action"].startswith("page.retake")]
    doc = f"{dossier_code}.1"
    assert [row[:3] for row in trail] == [
        ("web:vanthu", "page.retake_armed", str(first)),
        ("web:kiemduyet", "page.retake_cancelled", str(first)),
        ("web:kiemduyet", "page.retake_armed", str(second)),
        ("cli:root", "page.retake_cancelled", str(second)),
        ("web:vanthu", "page.retake_armed", str(first)),
        ("trigger:pedal", "page.retake", str(first)),
        ("web:vanthu", "page.retake_armed", str(second)),
        ("capture", "page.retake_cancelled", str(second)),
    ]
    assert trail[0][3] == {"docId": doc, "position": 1}
    assert trail[1][3] == {"armed_by": "web:vanthu", "reason": "replaced"}
    assert trail[3][3] == {"armed_by": "web:kiemduyet", "reason": "cancelled"}
    assert trail[5][3]["armed_by"] == "web:vanthu" and trail[5][3]["fired_by"] == "trigger:pedal"
    assert trail[7][3] == {"armed_by": "web:vanthu", "reason": "target_changed"}


def test_disarming_when_nothing_is_armed_records_nothing_and_a_direct_retake_names_no_armer(
        service, box, dossier_code):
    _, client = service
    client.set_target(dossier_code)
    page = client.shoot(1)["pages"][0]["page"]
    assert client.arm_retake(None, actor="web:vanthu") is None
    client.shoot(1, actor="web:vanthu", retake=page)  # aimed by its own caller: no one armed it
    [event] = [e for e in events_for(box.db) if e["action"].startswith("page.retake")]
    assert event["action"] == "page.retake" and event["actor"] == "web:vanthu"
    assert "armed_by" not in event["details"]


def test_arming_is_checked_and_a_new_target_disarms(service, box, dossier_code):
    _, client = service
    with pytest.raises(ServiceError) as no_target:
        client.arm_retake(1)
    assert no_target.value.status == 409
    client.set_target(dossier_code)
    page = client.shoot(1)["pages"][0]["page"]
    with pytest.raises(ServiceError) as missing:
        client.arm_retake(999)
    assert missing.value.status == 404 and client.status()["retake"] is None
    client.arm_retake(page)
    client.set_target(dossier_code)  # "new document": the armed retake does not follow
    assert client.status()["retake"] is None
    client.arm_retake(page)
    assert client.arm_retake(None) is None
    assert client.shoot(1)["pages"][0]["page"] != page and _count(box, "pages") == 2


# -- the auto-capture switch ---------------------------------------------------------------


def test_without_auto_capture_configured_the_switch_says_so(service, box):
    _, client = service
    assert client.status()["auto"] == {"available": False, "enabled": False, "reason": "not_configured"}
    with pytest.raises(ServiceError) as refused:
        client.set_auto(True, actor="web:operator")
    assert refused.value.status == 409 and "chụp tự động" in refused.value.message_vi
    assert not [e for e in events_for(box.db) if e["action"] == "capture.auto"]


@pytest.fixture
def auto_config_file(tmp_path):
    path = tmp_path / "sohoa.toml"
    path.write_text(BOX_CONFIG + CAPTURE_CONFIG + "\n[capture.triggers.auto]\nenabled = true\n",
                    encoding="utf-8")
    return path


@pytest.fixture
def auto_box(tmp_path, auto_config_file):
    from device.box import Box
    from device.config import load_config
    from device.provision import init_box

    config = load_config(auto_config_file, tmp_path / "data", environ={})
    init_box(config, actor="test")
    with Box.open(config) as opened:
        yield opened


def test_auto_capture_is_switched_off_and_on_at_run_time(auto_box):
    with running_service(auto_box, lambda: CabledCamera(Cable()), hand_detector=no_hands) as (_, client):
        assert client.auto() == {"available": True, "enabled": True, "reason": None}
        assert client.set_auto(False, actor="web:operator")["enabled"] is False
        assert client.status()["auto"]["enabled"] is False
        with pytest.raises(ServiceError) as refused:
            client.set_auto("yes")  # type: ignore[arg-type]
        assert refused.value.status == 400 and refused.value.message_vi
        assert client.auto()["enabled"] is False
        assert client.set_auto(True, actor="web:reviewer")["enabled"] is True
    switches = [(e["actor"], e["details"]["enabled"]) for e in events_for(auto_box.db)
                if e["action"] == "capture.auto"]
    assert switches == [("web:operator", False), ("web:reviewer", True)]
