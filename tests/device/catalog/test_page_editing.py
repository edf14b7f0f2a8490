"""Page grid edits on a real box: order, split, merge, turn, delete, corners; refusals and audit."""

from __future__ import annotations

import pytest
from PIL import Image

from device.catalog.dossiers import move as move_dossier
from device.catalog.pages import (
    check_quad, delete_page, merge_document, move_page, rotate_page, set_corners, split_document)
from device.db import records
from device.db.events import events_for
from device.db.jobs import job_by_subject
from device.db.pages import page_by_id, page_for_processing, pages_of
from device.db.search import search_pages
from device.errors import InputError, NotFoundError, StateError
from device.intake import PROCESS_PAGE, import_files


@pytest.fixture
def two_docs(box, dossier_code, page_png):
    """Document 1 with five pages, document 2 with two (ids in order)."""
    first = import_files(box, dossier_code, [page_png] * 5, actor="test")
    second = import_files(box, dossier_code, [page_png] * 2, actor="test")
    return [p["id"] for p in first.pages], [p["id"] for p in second.pages]


def layout(box, dossier_code) -> list[list[int]]:
    """Each document's page ids in order; also checks positions and sheets are 1..n."""
    dossier = records.dossier_by_code(box.db, dossier_code)
    out = []
    for number, document in enumerate(records.documents_of(box.db, dossier["id"]), start=1):
        assert document["seq"] == number
        pages = pages_of(box.db, document["id"])
        assert [p["position"] for p in pages] == list(range(1, len(pages) + 1))
        assert [p["sheet"] for p in pages] == list(range(1, len(pages) + 1))  # all recto
        out.append([p["id"] for p in pages])
    return out


def last_event(box, object_type: str) -> dict:
    return events_for(box.db, object_type)[-1]


def test_a_page_moves_within_its_document_and_the_move_is_audited(box, dossier_code, two_docs):
    first, second = two_docs
    move_page(box, first[4], position=2, actor="web:an")
    assert layout(box, dossier_code) == [[first[0], first[4], *first[1:4]], second]
    event = last_event(box, "page")
    assert event["action"] == "page.move" and event["actor"] == "web:an"
    assert event["details"]["from"]["position"] == 5 and event["details"]["to"]["position"] == 2


def test_a_page_moves_to_another_document_and_both_stay_contiguous(box, dossier_code, two_docs):
    first, second = two_docs
    move_page(box, first[1], position=1, document_seq=2, actor="web:an")
    assert layout(box, dossier_code) == [[first[0], *first[2:]], [first[1], *second]]
    move_page(box, second[1], position=99, document_seq=1, actor="web:an")  # past the end: last
    assert layout(box, dossier_code) == [[first[0], *first[2:], second[1]], [first[1], second[0]]]


def test_split_makes_a_new_document_after_it_and_later_documents_shift(box, dossier_code, two_docs):
    first, second = two_docs
    set_fields = records.documents_of(box.db, records.dossier_by_code(box.db, dossier_code)["id"])
    second_id = set_fields[1]["id"]
    assert split_document(box, first[3], actor="web:an") == 2
    assert layout(box, dossier_code) == [first[:3], first[3:], second]
    dossier = records.dossier_by_code(box.db, dossier_code)
    assert records.document_by_seq(box.db, dossier["id"], 3)["id"] == second_id
    event = last_event(box, "document")
    assert event["action"] == "document.split" and event["details"]["newDocId"].endswith(".2")
    with pytest.raises(StateError) as refused:
        split_document(box, first[0], actor="web:an")
    assert "trang đầu tiên" in refused.value.message_vi


def test_merge_appends_to_the_previous_document_and_closes_the_gap(box, dossier_code, two_docs,
                                                                   page_png):
    first, second = two_docs
    third = [p["id"] for p in import_files(box, dossier_code, [page_png], actor="test").pages]
    assert merge_document(box, dossier_code, 2, actor="web:an") == 1
    assert layout(box, dossier_code) == [first + second, third]
    event = last_event(box, "document")
    assert event["action"] == "document.merge" and event["details"]["pagesMoved"] == 2
    with pytest.raises(StateError):
        merge_document(box, dossier_code, 1, actor="web:an")


def test_rotation_adds_up_and_queues_the_page_again(box, dossier_code, two_docs):
    page_id = two_docs[0][0]
    job = job_by_subject(box.db, PROCESS_PAGE, f"page:{page_id}")
    box.db.conn.execute("UPDATE jobs SET state = 'done' WHERE id = ?", (job["id"],))
    box.db.conn.execute("UPDATE pages SET state = 'processed' WHERE id = ?", (page_id,))
    assert rotate_page(box, page_id, 270, actor="web:an") == 270
    assert rotate_page(box, page_id, 180, actor="web:an") == 90
    assert page_by_id(box.db, page_id)["rotation"] == 90
    assert page_by_id(box.db, page_id)["state"] == "new"
    assert job_by_subject(box.db, PROCESS_PAGE, f"page:{page_id}")["state"] == "queued"
    event = last_event(box, "page")
    assert event["action"] == "page.rotate" and event["details"] == {
        "by": 180, "from": 270, "to": 90, "docId": f"{dossier_code}.1"}
    with pytest.raises(InputError):
        rotate_page(box, page_id, 45, actor="web:an")


def test_deleting_a_page_keeps_its_capture_and_row_and_drops_it_from_search(box, dossier_code,
                                                                            two_docs):
    first, second = two_docs
    box.db.conn.execute("INSERT INTO page_text (rowid, written, folded) VALUES (?, 'trang xoá',"
                        " 'trang xoa')", (first[2],))
    capture_id = page_by_id(box.db, first[2])["capture_id"]
    delete_page(box, first[2], actor="web:an")
    assert layout(box, dossier_code) == [first[:2] + first[3:], second]
    assert page_by_id(box.db, first[2]) is None
    assert search_pages(box.db, "trang xoa") == []
    assert job_by_subject(box.db, PROCESS_PAGE, f"page:{first[2]}") is None
    kept = box.db.conn.execute("SELECT capture_id, deleted_by FROM deleted_pages WHERE page_id = ?",
                               (first[2],)).fetchone()
    assert kept == (capture_id, "web:an")
    raw = box.db.conn.execute("SELECT raw_sha256 FROM captures WHERE id = ?", (capture_id,)).fetchone()
    assert box.blobs.verify(raw[0])
    assert last_event(box, "page")["action"] == "page.delete"


def test_corners_are_stored_for_the_worker_and_the_page_is_queued(box, dossier_code, two_docs):
    page_id = two_docs[0][0]
    quad = [[10, 12], [300, 8], [310, 440], [5, 445]]  # the page PNG is 320 x 452
    assert set_corners(box, page_id, quad, actor="web:an") == [
        [10.0, 12.0], [300.0, 8.0], [310.0, 440.0], [5.0, 445.0]]
    assert page_for_processing(box.db, page_id)["region"] == [
        [10.0, 12.0], [300.0, 8.0], [310.0, 440.0], [5.0, 445.0]]
    assert job_by_subject(box.db, PROCESS_PAGE, f"page:{page_id}")["state"] == "queued"
    event = last_event(box, "page")
    assert event["action"] == "page.corners" and event["details"]["before"] is None


def test_corners_of_an_older_capture_are_not_used(box, dossier_code, two_docs):
    page_id = two_docs[0][0]
    set_corners(box, page_id, [[10, 12], [300, 8], [310, 440], [5, 445]], actor="web:an")
    other = box.db.conn.execute("INSERT INTO captures (raw_sha256, media_type, source, created_at)"
                                " SELECT raw_sha256, media_type, 'retake', created_at FROM captures"
                                " LIMIT 1").lastrowid
    box.db.conn.execute("UPDATE pages SET capture_id = ? WHERE id = ?", (other, page_id))
    assert page_for_processing(box.db, page_id)["region"] is None


@pytest.mark.parametrize("quad, why", [
    ([[0, 0], [300, 0], [300, 400]], "bốn góc"),
    ([[0, 0], [300, 0], [300, 900], [0, 400]], "ngoài ảnh"),
    ([[0, 0], [0, 400], [300, 400], [300, 0]], "thứ tự"),  # counter-clockwise
    ([[0, 0], [300, 400], [300, 0], [0, 400]], "thứ tự"),  # crossed
    ([[0, 0], [5, 0], [5, 5], [0, 5]], "thứ tự"),  # a speck, not a page
    ("[[0, 0]]", "bốn góc"),
])
def test_bad_corners_are_refused_in_vietnamese(quad, why):
    with pytest.raises(InputError) as refused:
        check_quad(quad, 320, 452)
    assert why in refused.value.message_vi


def test_bad_corners_change_nothing(box, dossier_code, two_docs):
    page_id = two_docs[0][0]
    with pytest.raises(InputError):
        set_corners(box, page_id, [[0, 0], [0, 400], [300, 400], [300, 0]], actor="web:an")
    assert page_by_id(box.db, page_id)["manual_quad"] is None
    assert [e for e in events_for(box.db, "page") if e["action"] == "page.corners"] == []


def test_corners_are_set_in_the_frame_the_worker_reads_exif_turned(box, dossier_code, tmp_path):
    photo = tmp_path / "sideways.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown (and read by the worker) portrait
    Image.new("RGB", (452, 320), "white").save(photo, exif=exif)
    page_id = import_files(box, dossier_code, [photo], actor="test").pages[0]["id"]
    set_corners(box, page_id, [[5, 5], [310, 5], [310, 440], [5, 440]], actor="web:an")
    with pytest.raises(InputError):
        set_corners(box, page_id, [[5, 5], [440, 5], [440, 310], [5, 310]], actor="web:an")


def test_nothing_changes_once_the_dossier_is_in_review(box, dossier_code, two_docs):
    first, _ = two_docs
    move_dossier(box, dossier_code, "submit", actor="test")
    before = layout(box, dossier_code)
    for attempt in (lambda: move_page(box, first[0], position=3, actor="web:an"),
                    lambda: split_document(box, first[2], actor="web:an"),
                    lambda: merge_document(box, dossier_code, 2, actor="web:an"),
                    lambda: rotate_page(box, first[0], 90, actor="web:an"),
                    lambda: delete_page(box, first[0], actor="web:an"),
                    lambda: set_corners(box, first[0], [[1, 1], [300, 1], [300, 400], [1, 400]],
                                        actor="web:an")):
        with pytest.raises(StateError) as refused:
            attempt()
        assert "mở lại" in refused.value.message_vi
    assert layout(box, dossier_code) == before
    assert {e["action"] for e in events_for(box.db, "page")} == set()


def test_a_page_of_another_dossier_is_not_found(box, dossier_code, two_docs):
    with pytest.raises(NotFoundError):
        move_page(box, two_docs[0][0], position=1, file_code="H49.64.33.2001.999", actor="web:an")
    with pytest.raises(NotFoundError):
        rotate_page(box, 987654, 90, actor="web:an")


def test_the_worker_processes_a_page_again_with_its_hand_set_corners(box, dossier_code, tmp_path):
    from device.ocr.engine import OcrEngine
    from device.worker import run_once

    photo = tmp_path / "page.png"
    Image.new("RGB", (800, 1130), "white").save(photo)
    page_id = import_files(box, dossier_code, [photo], actor="test").pages[0]["id"]
    with OcrEngine() as engine:
        assert run_once(box, engine).processed == 1
        before = page_by_id(box.db, page_id)["master_sha256"]
        # An A4-shaped quarter of the frame, as if the detector had taken the desk for the page.
        set_corners(box, page_id, [[200, 282], [600, 282], [600, 848], [200, 848]], actor="web:an")
        assert run_once(box, engine).processed == 1
    page = page_by_id(box.db, page_id)
    assert page["state"] == "processed" and page["master_sha256"] != before
    with Image.open(box.blobs.path(before)) as whole, \
            Image.open(box.blobs.path(page["master_sha256"])) as master:
        assert whole.size == (800, 1130)
        assert master.width < 0.6 * whole.width and master.height < 0.6 * whole.height
    assert [e["action"] for e in events_for(box.db, "page")][-2:] == ["page.corners", "page.process"]


def test_a_deleted_page_still_holds_its_blobs_for_fsck(box, dossier_code, two_docs):
    from device.db.pages import referenced_blobs

    page_id = two_docs[0][0]
    box.db.conn.execute("UPDATE pages SET master_sha256 = ? WHERE id = ?", ("a" * 64, page_id))
    delete_page(box, page_id, actor="web:an")
    assert referenced_blobs(box.db)["a" * 64] == [f"deleted page {page_id} master"]


def test_the_worker_turns_the_master_of_a_page_the_operator_rotated(box, dossier_code, tmp_path):
    from device.ocr.engine import OcrEngine
    from device.worker import run_once

    photo = tmp_path / "page.png"
    Image.new("RGB", (800, 1130), "white").save(photo)
    page_id = import_files(box, dossier_code, [photo], actor="test").pages[0]["id"]
    with OcrEngine() as engine:
        assert run_once(box, engine).processed == 1
        with Image.open(box.blobs.path(page_by_id(box.db, page_id)["master_sha256"])) as master:
            upright = master.size
        rotate_page(box, page_id, 90, actor="web:an")
        assert run_once(box, engine).processed == 1
    with Image.open(box.blobs.path(page_by_id(box.db, page_id)["master_sha256"])) as master:
        assert master.size == upright[::-1]  # turned a quarter, not undone by orientation


def test_a_retake_drops_the_old_shots_turn_and_corners(box, dossier_code, two_docs):
    from device.db import transaction
    from device.db.pages import record_capture, replace_capture

    page_id = two_docs[0][0]
    rotate_page(box, page_id, 90, actor="web:an")
    set_corners(box, page_id, [[10, 12], [300, 8], [310, 440], [5, 445]], actor="web:an")
    old = page_by_id(box.db, page_id)
    with transaction(box.db):  # what a retake does with its new shot (device.capture.retake)
        shot = record_capture(box.db, raw_sha256=old["raw_sha256"], media_type="image/png",
                              source="camera:test",
                              dossier_id=records.dossier_by_code(box.db, dossier_code)["id"])
        assert replace_capture(box.db, page_id, shot) == old["capture_id"]
    page = page_for_processing(box.db, page_id)
    assert (page["rotation"], page["manual_quad"], page["region"]) == (0, None, None)


def _deleted_id(box, page_id: int) -> int:
    return box.db.conn.execute("SELECT max(id) FROM deleted_pages WHERE page_id = ?",
                               (page_id,)).fetchone()[0]


def _read_and_corrected(box, page_id: int, corrected: str) -> None:
    """The page as the worker leaves it, with a clerk's correction of that very OCR result."""
    from device.db import transaction
    from device.db.pages import finish_page
    from device.db.search import index_page_text
    from device.db.text_corrections import store_correction

    words = "b" * 64
    with transaction(box.db):
        finish_page(box.db, page_id, master_sha256="a" * 64, ocr_image_sha256=None,
                    hocr_sha256=words, dpi=300.0, qc_flags={}, blank=False, text="0uyet dinh",
                    confidence=60.0, engine="tesseract", model_sha256="0" * 64)
        store_correction(box.db, page_id, corrected, words, "web:lan")
        index_page_text(box.db, page_id, corrected)


def test_a_deleted_page_comes_back_last_in_its_document_with_its_correction(box, dossier_code,
                                                                             two_docs):
    from device.catalog.pages import restore_page
    from device.db.text_corrections import correction_of

    first, second = two_docs
    _read_and_corrected(box, first[1], "Quyết định thành lập tổ dân phố Đồng Tâm")
    corrected_before = correction_of(box.db, first[1])
    delete_page(box, first[1], actor="web:an")
    assert correction_of(box.db, first[1]) is None and search_pages(box.db, "dong tam") == []

    place = restore_page(box, _deleted_id(box, first[1]), actor="web:an")

    assert (place["id"], place["document_seq"], place["position"]) == (first[1], 1, 5)
    assert layout(box, dossier_code) == [[first[0], *first[2:], first[1]], second]
    assert correction_of(box.db, first[1]) == corrected_before  # same text, author and time
    assert [hit["page_id"] for hit in search_pages(box.db, "dong tam")] == [first[1]]
    page = page_by_id(box.db, first[1])
    assert (page["state"], page["master_sha256"]) == ("processed", "a" * 64)
    assert job_by_subject(box.db, PROCESS_PAGE, f"page:{first[1]}") is None  # nothing to redo
    assert box.db.conn.execute("SELECT count(*) FROM deleted_pages").fetchone()[0] == 0
    event = last_event(box, "page")
    assert event["action"] == "page.restore" and event["actor"] == "web:an"
    assert event["details"]["docId"] == f"{dossier_code}.1" and event["details"]["correction"]


def test_a_page_whose_document_is_gone_comes_back_to_the_last_document(box, dossier_code,
                                                                        two_docs, page_png):
    from device.catalog.pages import restore_page

    first, second = two_docs
    own_document = page_by_id(box.db, second[1])["document_id"]
    delete_page(box, second[1], actor="web:an")  # the highest id: a new page will take it
    [newcomer] = [p["id"] for p in import_files(box, dossier_code, [page_png], actor="t").pages]
    assert newcomer == second[1]
    merge_document(box, dossier_code, 2, actor="web:an")  # the page's own document is gone

    place = restore_page(box, _deleted_id(box, second[1]), actor="web:an")

    assert place["id"] not in (*first, *second) and place["document_seq"] == 2
    assert place["document_id"] != own_document
    assert layout(box, dossier_code) == [first + second[:1], [newcomer, place["id"]]]
    assert job_by_subject(box.db, PROCESS_PAGE, f"page:{place['id']}")["state"] == "queued"
    assert last_event(box, "page")["details"]["formerId"] == second[1]


def test_a_page_is_not_put_back_once_the_dossier_is_in_review(box, dossier_code, two_docs):
    from device.catalog.pages import restore_page

    first, _ = two_docs
    delete_page(box, first[0], actor="web:an")
    move_dossier(box, dossier_code, "submit", actor="test")
    before = layout(box, dossier_code)
    with pytest.raises(StateError) as refused:
        restore_page(box, _deleted_id(box, first[0]), actor="web:an")
    assert "mở lại" in refused.value.message_vi
    assert layout(box, dossier_code) == before and page_by_id(box.db, first[0]) is None
    with pytest.raises(NotFoundError):
        restore_page(box, 987654, actor="web:an")


def test_merge_refuses_a_document_with_fields_and_names_them(box, dossier_code, two_docs):
    from device.catalog.documents import set_document_fields

    set_document_fields(box, f"{dossier_code}.2", {"subject": "Về việc cấp đất"}, actor="test")
    before = layout(box, dossier_code)
    with pytest.raises(StateError) as refused:
        merge_document(box, dossier_code, 2, actor="web:an")
    assert "đã có thông tin: Trích yếu nội dung" in refused.value.message_vi
    assert "Subject" in refused.value.english_for_people()
    assert layout(box, dossier_code) == before
    set_document_fields(box, f"{dossier_code}.2", {"subject": None}, actor="test")  # cleared
    assert merge_document(box, dossier_code, 2, actor="web:an") == 1


def test_merge_refuses_when_the_seq_names_another_document_than_the_one_opened(box, dossier_code,
                                                                               two_docs):
    first, second = two_docs
    dossier = records.dossier_by_code(box.db, dossier_code)
    opened = records.document_by_seq(box.db, dossier["id"], 2)["id"]
    split_document(box, first[2], actor="web:other")  # the opened document is now 3
    with pytest.raises(StateError) as refused:
        merge_document(box, dossier_code, 2, actor="web:an", document_id=opened)
    assert "không còn là tài liệu bạn đã mở" in refused.value.message_vi
    assert layout(box, dossier_code) == [first[:2], first[2:], second]
    assert merge_document(box, dossier_code, 3, actor="web:an", document_id=opened) == 2
    assert layout(box, dossier_code) == [first[:2], first[2:] + second]


def test_an_empty_document_is_removed_renumbering_later_ones_and_audited(box, dossier_code,
                                                                         two_docs, page_png):
    from device.catalog.documents import remove_empty_document

    first, second = two_docs
    for page_id in second:
        move_page(box, page_id, position=99, document_seq=1, actor="web:an")
    third = [p["id"] for p in import_files(box, dossier_code, [page_png], actor="test").pages]
    with pytest.raises(StateError) as refused:
        remove_empty_document(box, dossier_code, 1, actor="web:an")
    assert "chỉ bỏ được tài liệu không có trang nào" in refused.value.message_vi
    remove_empty_document(box, dossier_code, 2, actor="web:an")
    assert layout(box, dossier_code) == [first + second, third]  # 3 became 2
    event = last_event(box, "document")
    assert (event["action"], event["actor"]) == ("document.remove", "web:an")
    assert event["details"]["docId"] == f"{dossier_code}.2"
    with pytest.raises(NotFoundError):
        remove_empty_document(box, dossier_code, 3, actor="web:an")


def test_the_grid_window_shows_each_empty_document_on_one_screen(box, dossier_code, two_docs):
    from device.catalog.documents import new_document
    from device.catalog.dossiers import load
    from device.catalog.pages import page_window

    first, second = two_docs  # 5 + 2 pages
    for page_id in second:
        move_page(box, page_id, position=99, document_seq=1, actor="web:an")
    new_document(box, load(box, dossier_code), actor="test")  # 3, empty, after document 2
    seqs = {screen: [d["seq"] for d in page_window(box, dossier_code, screen, 3)["empty"]]
            for screen in (1, 2, 3)}
    assert seqs == {1: [], 2: [], 3: [2, 3]}  # page 7, the last before them, is on screen 3
    assert [d["seq"] for d in page_window(box, dossier_code, 1, 48)["empty"]] == [2, 3]


def test_a_page_dropped_on_a_document_renumbered_meanwhile_is_not_moved(box, dossier_code, two_docs):
    first, second = two_docs
    dossier = records.dossier_by_code(box.db, dossier_code)
    seen_as_2 = records.documents_of(box.db, dossier["id"])[1]["id"]  # what the grid showed
    split_document(box, first[3], actor="web:binh")  # another clerk: document 2 is now first[3:]
    with pytest.raises(StateError) as refused:
        move_page(box, first[0], position=1, document_seq=2, document_id=seen_as_2, actor="web:an")
    assert "tách hoặc gộp" in refused.value.message_vi
    assert layout(box, dossier_code) == [first[:3], first[3:], second]
    move_page(box, first[0], position=1, document_seq=3, document_id=seen_as_2, actor="web:an")
    assert layout(box, dossier_code) == [first[1:3], first[3:], [first[0], *second]]
