"""Page text corrections: kept beside the OCR text with who and when, found by search with and
without tone marks, reverted by giving the OCR text back, refused where the lifecycle says so,
and outdated once the page is read again."""

from __future__ import annotations

import pytest

from device.catalog.corrections import (
    LOW_CONFIDENCE, correct_page_text, page_text, page_words, review_pages, searchable_text,
)
from device.catalog.documents import set_document_fields
from device.catalog.dossiers import load, move, set_dossier_fields
from device.db import transaction
from device.db.events import events_for
from device.db.pages import finish_page, page_by_id
from device.db.search import index_page_text, search_pages
from device.errors import InputError, NotFoundError, StateError
from device.intake import import_files
from device.ocr.engine import OcrLine, OcrResult, OcrWord
from device.worker import word_boxes

# Two blocks of OCR output, as (word, confidence): "QUYẾT" misread as "0UYẾT", "Tâm" as "Târn".
OCR_LINES = [[("0UYẾT", 41.0), ("ĐỊNH", 93.0)],
             None,  # a new block starts here
             [("Thành", 95.0), ("lập", 91.0), ("tổ", 88.0), ("dân", 90.0), ("phố", 92.0),
              ("Đồng", 94.0), ("Târn", 55.0)]]
CORRECTED = "QUYẾT ĐỊNH\nThành lập tổ dân phố Đồng Tâm"
COMPLETE_DOSSIER = {"endDate": "2002", "format": "01", "paperFileCode": "G09.K1-G2-H3.160"}
COMPLETE_DOCUMENT = {"typeName": "02", "issuedDate": "15/09/2001", "organName": "UBND xã Thử",
                     "subject": "Về việc thành lập tổ dân phố"}


def ocr_result(lines=OCR_LINES) -> OcrResult:
    """What Tesseract would give for `lines`: each word boxed on a grid, blocks kept."""
    words, out_lines, block, y = [], [], 0, 100
    for line in lines:
        if line is None:
            block += 1
            continue
        first, x = len(words), 100
        for text, confidence in line:
            words.append(OcrWord(text, (x, y, x + 40 * len(text), y + 50), confidence, block,
                                 len(out_lines)))
            x += 40 * len(text) + 30
        out_lines.append(OcrLine((100, y, x, y + 50), block, tuple(range(first, len(words)))))
        y += 80
    text = "\n".join(" ".join(w.text for w in words if w.line == n) for n in range(len(out_lines)))
    return OcrResult(text, tuple(words), tuple(out_lines), ((100, 100, 2000, y),),
                     sum(w.confidence for w in words) / len(words), 2480, 3508, "tesseract",
                     "5.5", "vie", 6)


def processed_page(box, code, page_png, result: OcrResult | None = None, page_id=None) -> int:
    """A page (imported, or `page_id` again) recorded as the worker records a processed one."""
    result = result or ocr_result()
    if page_id is None:
        page_id = import_files(box, code, [page_png], actor="test").pages[0]["id"]
    master = box.blobs.put(page_png.read_bytes())
    words = box.blobs.put(word_boxes.encode(result, 300.0))
    with transaction(box.db):
        finish_page(box.db, page_id, master_sha256=master, ocr_image_sha256=None,
                    hocr_sha256=words, dpi=300.0, qc_flags={}, blank=False, text=result.text,
                    confidence=result.mean_confidence, engine="tesseract 5.5 vie",
                    model_sha256="vie:" + "0" * 64)
        index_page_text(box.db, page_id, result.text)
    return page_id


def found(box, query: str) -> list[int]:
    return [hit["page_id"] for hit in search_pages(box.db, query)]


def in_review(box, code) -> None:
    set_dossier_fields(box, code, COMPLETE_DOSSIER, actor="test")
    set_document_fields(box, f"{code}.1", COMPLETE_DOCUMENT, actor="test")
    move(box, code, "submit", actor="test")


def test_a_correction_is_kept_beside_the_ocr_text_and_searched(box, dossier_code, page_png):
    page_id = processed_page(box, dossier_code, page_png)
    assert found(box, "dong tam") == [] and found(box, "0uyet") == [page_id]

    assert correct_page_text(box, page_id, CORRECTED.replace("\n", "\r\n") + "  \r\n",
                             actor="web:operator", role="operator") == "corrected"

    page = page_by_id(box.db, page_id)
    assert page["ocr_text"] == ocr_result().text  # the OCR text stays as it was
    text = page_text(box, page)
    assert (text.corrected, text.text, text.corrected_by) == (CORRECTED, CORRECTED, "web:operator")
    assert text.corrected_at and text.outdated is None
    assert found(box, "Đồng Tâm") == [page_id]       # with tone marks
    assert found(box, "dong tam") == [page_id]       # and without
    assert found(box, "quyet dinh") == [page_id]
    assert found(box, "0uyết") == []                 # the misread word is gone from the index
    event = events_for(box.db, "page", page_id)[-1]
    assert event["action"] == "page.text_corrected" and event["actor"] == "web:operator"
    assert event["details"]["text"] == CORRECTED and event["details"]["docId"] == f"{dossier_code}.1"


def test_giving_back_the_ocr_text_reverts_and_saving_twice_changes_nothing(box, dossier_code,
                                                                          page_png):
    page_id = processed_page(box, dossier_code, page_png)
    assert correct_page_text(box, page_id, CORRECTED, actor="a", role="operator") == "corrected"
    assert correct_page_text(box, page_id, CORRECTED, actor="a", role="operator") == "unchanged"
    spaced = "  " + ocr_result().text.replace(" ", "   ") + "\n\n"
    assert correct_page_text(box, page_id, spaced, actor="a", role="operator") == "reverted"
    assert page_text(box, page_by_id(box.db, page_id)).corrected is None
    assert found(box, "0uyet") == [page_id] and found(box, "dong tam") == []
    assert correct_page_text(box, page_id, spaced, actor="a", role="operator") == "unchanged"
    actions = [e["action"] for e in events_for(box.db, "page", page_id)]
    assert actions[-2:] == ["page.text_corrected", "page.text_reverted"]


def test_in_review_only_a_reviewer_corrects(box, dossier_code, page_png):
    page_id = processed_page(box, dossier_code, page_png)
    in_review(box, dossier_code)
    with pytest.raises(StateError) as refused:
        correct_page_text(box, page_id, CORRECTED, actor="web:operator", role="operator")
    assert "chỉ người kiểm duyệt" in refused.value.message_vi
    assert page_text(box, page_by_id(box.db, page_id)).corrected is None
    assert correct_page_text(box, page_id, CORRECTED, actor="web:reviewer",
                             role="reviewer") == "corrected"


def test_an_approved_dossier_is_not_corrected_by_anyone(box, dossier_code, page_png):
    page_id = processed_page(box, dossier_code, page_png)
    in_review(box, dossier_code)
    move(box, dossier_code, "approve", actor="test")
    before = len(events_for(box.db, "page", page_id))
    for role in ("operator", "reviewer", "admin"):
        with pytest.raises(StateError):
            correct_page_text(box, page_id, CORRECTED, actor="x", role=role)
    assert len(events_for(box.db, "page", page_id)) == before
    assert found(box, "dong tam") == []


def test_bad_input_changes_nothing(box, dossier_code, page_png):
    unread = import_files(box, dossier_code, [page_png], actor="test").pages[0]["id"]
    with pytest.raises(StateError) as refused:
        correct_page_text(box, unread, "chữ", actor="x", role="admin")
    assert "chưa được nhận dạng" in refused.value.message_vi
    page_id = processed_page(box, dossier_code, page_png)
    with pytest.raises(InputError):
        correct_page_text(box, page_id, "a" * 100_001, actor="x", role="admin")
    with pytest.raises(InputError):
        correct_page_text(box, page_id, ["not", "text"], actor="x", role="admin")
    with pytest.raises(NotFoundError):
        correct_page_text(box, 999_999, "chữ", actor="x", role="admin")
    assert page_text(box, page_by_id(box.db, page_id)).corrected is None
    assert [e["action"] for e in events_for(box.db, "page")
            if e["action"].startswith("page.text")] == []


def test_a_page_read_again_leaves_its_old_correction_outdated(box, dossier_code, page_png):
    page_id = processed_page(box, dossier_code, page_png)
    correct_page_text(box, page_id, CORRECTED, actor="a", role="operator")
    old_words = page_by_id(box.db, page_id)["hocr_sha256"]
    assert searchable_text(box, page_id, "ocr", old_words) == CORRECTED
    again = ocr_result([[("QUYẾT", 90.0), ("ĐỊNH", 93.0)], [("Điều", 91.0), ("một", 90.0)]])
    processed_page(box, dossier_code, page_png, again, page_id=page_id)
    page = page_by_id(box.db, page_id)
    text = page_text(box, page)
    assert (text.corrected, text.text, text.outdated) == (None, again.text, CORRECTED)
    assert searchable_text(box, page_id, again.text, page["hocr_sha256"]) == again.text


def test_deleting_a_corrected_page_takes_its_correction_along(box, dossier_code, page_png):
    page_id = processed_page(box, dossier_code, page_png)
    correct_page_text(box, page_id, CORRECTED, actor="a", role="operator")
    with transaction(box.db):
        box.db.conn.execute("DELETE FROM pages WHERE id = ?", (page_id,))
    assert box.db.conn.execute("SELECT count(*) FROM page_text_corrections").fetchone()[0] == 0


def test_page_words_mark_the_doubtful_ones_in_reading_order(box, dossier_code, page_png):
    page_id = processed_page(box, dossier_code, page_png)
    words = page_words(box, page_by_id(box.db, page_id))
    assert (words.width, words.height) == (2480, 3508)
    assert [[w.text for w in line] for _new, line in words.lines] == [
        ["0UYẾT", "ĐỊNH"], ["Thành", "lập", "tổ", "dân", "phố", "Đồng", "Târn"]]
    assert [new_block for new_block, _line in words.lines] == [False, True]
    assert [(w.text, w.index) for w in words.low] == [("0UYẾT", 0), ("Târn", 8)]
    assert all(w.confidence < LOW_CONFIDENCE for w in words.low)
    assert [w.text for w in page_words(box, page_by_id(box.db, page_id), threshold=90).low] == [
        "0UYẾT", "tổ", "Târn"]


def test_page_words_of_a_page_without_readable_boxes_are_none(box, dossier_code, page_png):
    page_id = import_files(box, dossier_code, [page_png], actor="test").pages[0]["id"]
    assert page_words(box, page_by_id(box.db, page_id)) is None  # not processed yet
    sha = box.blobs.put(page_png.read_bytes())  # a blob that is not word boxes
    with transaction(box.db):
        finish_page(box.db, page_id, master_sha256=sha, ocr_image_sha256=None, hocr_sha256=sha,
                    dpi=300.0, qc_flags={}, blank=False, text="chữ", confidence=90.0,
                    engine="t", model_sha256="0")
    assert page_words(box, page_by_id(box.db, page_id)) is None


def test_review_pages_follow_documents_then_positions(box, dossier_code, page_png):
    import_files(box, dossier_code, [page_png, page_png], actor="test")  # document 1
    import_files(box, dossier_code, [page_png], actor="test")            # document 2
    import_files(box, dossier_code, [page_png], actor="test", document_seq=1)
    pages = review_pages(box, load(box, dossier_code))
    assert [(p["docId"], p["position"]) for p in pages] == [
        (f"{dossier_code}.1", 1), (f"{dossier_code}.1", 2), (f"{dossier_code}.1", 3),
        (f"{dossier_code}.2", 1)]


def test_a_correction_made_on_an_earlier_ocr_result_is_refused(box, dossier_code, page_png):
    page_id = processed_page(box, dossier_code, page_png)
    opened_on = page_by_id(box.db, page_id)["hocr_sha256"]
    processed_page(box, dossier_code, page_png, ocr_result([[("Quyết", 95.0)]]), page_id=page_id)
    with pytest.raises(StateError) as refused:
        correct_page_text(box, page_id, CORRECTED, actor="web:operator", role="operator",
                          made_on=opened_on)
    assert "Trang đã được xử lý lại" in refused.value.message_vi
    assert page_text(box, page_by_id(box.db, page_id)).corrected is None
    assert [e for e in events_for(box.db, "page", page_id) if e["action"].startswith("page.text")] == []
    current = page_by_id(box.db, page_id)["hocr_sha256"]
    assert correct_page_text(box, page_id, CORRECTED, actor="web:operator", role="operator",
                             made_on=current) == "corrected"
