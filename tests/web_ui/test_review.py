"""The review screen: the page image beside its OCR text with doubtful words marked (on the
image too), corrections saved and found by search, OCR markup shown escaped, page navigation,
approve and return for reviewers only, the return's comment in the audit trail."""

from __future__ import annotations

import re
from io import BytesIO

from PIL import Image

from device.catalog.corrections import page_text
from device.catalog.describe import dossier_json
from device.catalog.documents import set_document_fields
from device.catalog.dossiers import move, set_dossier_fields
from device.db.events import events_for
from device.db.pages import page_by_id
from device.intake import import_files
from tests.device.catalog.test_corrections import (
    COMPLETE_DOCUMENT, COMPLETE_DOSSIER, CORRECTED, ocr_result, processed_page,
)
from tests.web_ui.test_escaping_and_search import SCRIPT


def review_path(code: str, n: int = 1) -> str:
    """The review screen of page n (page 1's address is the screen's own)."""
    return f"/dossiers/{code}/review" + (f"/{n}" if n > 1 else "")


def text_path(code: str, n: int = 1) -> str:
    return f"/dossiers/{code}/review/{n}/text"


_HIDDEN = re.compile(r'<input type="hidden" name="(page_id|ocr_words)" value="([^"]*)">')


def opened_form(session, code: str, n: int = 1) -> dict[str, str]:
    """The hidden fields of page n's correction form as the screen shows it now."""
    page = session.get(review_path(code, n)).get_data(as_text=True)
    return dict(_HIDDEN.findall(page))


def save_text(session, code: str, text: str, n: int = 1, form: dict[str, str] | None = None):
    """Post a correction of page n from its form (opened now unless `form` is given)."""
    return session.post(text_path(code, n), {**(opened_form(session, code, n) if form is None else form), "text": text})


def ready(box, code) -> None:
    set_dossier_fields(box, code, COMPLETE_DOSSIER, actor="test")
    set_document_fields(box, f"{code}.1", COMPLETE_DOCUMENT, actor="test")


def submitted(box, code, page_png) -> int:
    page_id = processed_page(box, code, page_png)
    ready(box, code)
    move(box, code, "submit", actor="test")
    return page_id


def test_the_page_is_shown_beside_its_text_with_doubtful_words_marked(login, box, dossier_code,
                                                                       page_png):
    page_id = processed_page(box, dossier_code, page_png)
    answer = login("operator").get(f"/dossiers/{dossier_code}/review")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert f'id="review-page-image" src="/pages/{page_id}/view.jpg"' in page
    marked = re.findall(r'<mark class="low-word" data-word="(\d+)" data-confidence="(\d+)"'
                        r'[^>]*>([^<]*)</mark>', page)
    assert marked == [("0", "41", "0UYẾT"), ("8", "55", "Târn")]
    assert '<span class="word">Đồng</span>' in page  # a confident word is not marked
    boxes = re.findall(r'<rect class="low-box" data-word="(\d+)" x="(\d+)" y="(\d+)"', page)
    tarn_x = 100 + sum(40 * len(w) + 30 for w in ["Thành", "lập", "tổ", "dân", "phố", "Đồng"])
    assert boxes == [("0", "100", "100"), ("8", str(tarn_x), "180")]  # where the OCR put them
    assert 'viewBox="0 0 2480 3508"' in page
    assert 'id="review-low-count" data-count="2"' in page
    assert f">{ocr_result().text}</textarea>" in page  # the text to correct starts as the OCR's


def test_a_correction_is_saved_and_found_by_search_with_and_without_tone_marks(login, box,
                                                                                dossier_code, page_png):
    page_id = processed_page(box, dossier_code, page_png)
    session = login("operator")
    before = session.get("/search", query_string={"q": "dong tam"}).get_data(as_text=True)
    assert "Không tìm thấy" in before
    answer = save_text(session, dossier_code, CORRECTED)
    assert answer.status_code == 303 and answer.headers["Location"] == review_path(dossier_code)
    shown = session.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Đã lưu văn bản sửa của trang 1" in shown and 'id="review-corrected-by"' in shown
    assert f">{CORRECTED}</textarea>" in shown
    assert page_by_id(box.db, page_id)["ocr_text"] == ocr_result().text  # OCR text kept
    for query in ("Đồng Tâm", "dong tam", "quyet dinh"):
        results = session.get("/search", query_string={"q": query}).get_data(as_text=True)
        assert f"/pages/{page_id}/thumb.jpg" in results, query
    [event] = [e for e in events_for(box.db, "page", page_id) if e["action"] == "page.text_corrected"]
    assert event["actor"] == "web:operator"


def test_ocr_text_with_markup_is_shown_escaped(login, box, dossier_code, page_png):
    result = ocr_result([[("Quyết", 95.0), (SCRIPT, 30.0), ("<img", 90.0), ("src=x>", 90.0)]])
    processed_page(box, dossier_code, page_png, result)
    session = login("operator")
    page = session.get(review_path(dossier_code)).get_data(as_text=True)
    assert SCRIPT not in page and "<img src=x>" not in page
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
    assert f'data-confidence="30" title="Độ tin cậy: 30%">{escaped}</mark>' in page
    assert "<title>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; (30)</title>" in page
    save_text(session, dossier_code, f"Sửa {SCRIPT}")
    page = session.get(review_path(dossier_code)).get_data(as_text=True)
    assert SCRIPT not in page and f">Sửa {escaped}</textarea>" in page


def test_an_operator_cannot_approve_or_return_but_reads_the_review(login, box, dossier_code,
                                                                   page_png):
    submitted(box, dossier_code, page_png)
    session = login("operator")
    page = session.get(review_path(dossier_code)).get_data(as_text=True)
    assert 'id="review-approve"' not in page and 'id="review-return"' not in page
    assert 'readonly' in page and 'id="review-cannot-correct"' in page
    assert session.post(f"/dossiers/{dossier_code}/review/approve").status_code == 403
    assert session.post(f"/dossiers/{dossier_code}/review/return",
                        {"comment": "Thiếu trang"}).status_code == 403
    with session.get(f"/pages/{page_by_id(box.db, 1)['id']}/view.jpg") as image:
        assert image.status_code == 200
    assert dossier_json(box, dossier_code)["state"] == "in_review"
    refused = save_text(session, dossier_code, CORRECTED)
    assert refused.status_code == 409  # not 403: the lifecycle refuses, with the reason
    assert "chỉ người kiểm duyệt được sửa văn bản" in refused.get_data(as_text=True)
    assert f">{CORRECTED}</textarea>" in refused.get_data(as_text=True)  # what was typed is kept


def test_a_reviewer_corrects_in_review_and_approves(login, box, dossier_code, page_png):
    page_id = submitted(box, dossier_code, page_png)
    session = login("reviewer")
    page = session.get(review_path(dossier_code)).get_data(as_text=True)
    assert 'id="review-approve-button"' in page and 'id="review-save"' in page
    assert save_text(session, dossier_code, CORRECTED).status_code == 303
    answer = session.post(f"/dossiers/{dossier_code}/review/approve", {"n": "1"})
    assert answer.status_code == 303 and answer.headers["Location"] == f"/dossiers/{dossier_code}"
    assert dossier_json(box, dossier_code)["state"] == "approved"
    assert [e["actor"] for e in events_for(box.db, "dossier") if e["action"] == "dossier.approve"] == [
        "web:reviewer"]
    after = save_text(session, dossier_code, "khác")
    assert after.status_code == 409 and "hãy mở lại để sửa" in after.get_data(as_text=True)
    assert [e["actor"] for e in events_for(box.db, "page", page_id)
            if e["action"] == "page.text_corrected"] == ["web:reviewer"]


def test_approval_of_an_incomplete_dossier_says_what_is_missing(login, box, dossier_code, page_png):
    processed_page(box, dossier_code, page_png)
    session = login("reviewer")
    page = session.get(review_path(dossier_code)).get_data(as_text=True)
    assert 'id="review-problems"' in page
    assert "Thời gian kết thúc: bắt buộc phải nhập để duyệt" in page
    answer = session.post(f"/dossiers/{dossier_code}/review/approve", {"n": "1"})
    assert answer.headers["Location"] == review_path(dossier_code)
    assert dossier_json(box, dossier_code)["state"] == "draft"
    shown = session.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Chưa duyệt được hồ sơ" in shown
    assert f"Tài liệu {dossier_code}.1 – Trích yếu nội dung" in shown


def test_a_return_needs_a_comment_and_the_comment_is_in_the_audit_trail(login, box, dossier_code,
                                                                        page_png):
    submitted(box, dossier_code, page_png)
    session = login("reviewer")
    empty = session.post(f"/dossiers/{dossier_code}/review/return", {"comment": "  ", "n": "1"})
    assert empty.headers["Location"] == review_path(dossier_code)
    assert "Hãy ghi lý do trả lại" in session.get(empty.headers["Location"]).get_data(
        as_text=True)
    assert dossier_json(box, dossier_code)["state"] == "in_review"

    answer = session.post(f"/dossiers/{dossier_code}/review/return",
                          {"comment": "Trang 1 mờ, chụp lại", "n": "1"})
    assert answer.status_code == 303 and answer.headers["Location"] == f"/dossiers/{dossier_code}"
    assert dossier_json(box, dossier_code)["state"] == "returned"
    [returned] = [e for e in events_for(box.db, "dossier") if e["action"] == "dossier.return"]
    assert returned["actor"] == "web:reviewer"
    assert returned["details"]["comment"] == "Trang 1 mờ, chụp lại"
    # Returned: the operator may correct again.
    assert save_text(login("operator"), dossier_code, CORRECTED).status_code == 303


def test_pages_are_walked_in_order_with_previous_and_next(login, box, dossier_code, page_png):
    import_files(box, dossier_code, [page_png, page_png], actor="test")
    processed_page(box, dossier_code, page_png)  # document 2
    session = login("operator")
    first = session.get(f"/dossiers/{dossier_code}/review").get_data(as_text=True)
    assert '<span class="button disabled" id="review-prev"' in first
    assert ('id="review-next" rel="next" aria-keyshortcuts="ArrowRight" '
            f'href="{review_path(dossier_code, 2)}"') in first
    assert "Trang 1/3 · tài liệu " + dossier_code + ".1, trang 1" in first
    assert 'id="review-unprocessed"' in first  # not read yet
    last = session.get(review_path(dossier_code, 3)).get_data(as_text=True)
    assert "Trang 3/3 · tài liệu " + dossier_code + ".2, trang 1" in last
    assert f'href="{review_path(dossier_code, 2)}"' in last
    assert '<span class="button disabled" id="review-next"' in last
    assert 'src="/static/review.js"' in last
    jump = session.get(f"/dossiers/{dossier_code}/review", query_string={"n": "3"})
    assert jump.status_code == 303 and jump.headers["Location"] == review_path(dossier_code, 3)
    missing = session.get(review_path(dossier_code, 4))
    assert missing.status_code == 404
    assert "Hồ sơ không có trang 4 (có 3 trang)." in missing.get_data(as_text=True)


def test_an_empty_dossier_says_it_has_no_pages(login, dossier_code):
    page = login("operator").get(f"/dossiers/{dossier_code}/review").get_data(as_text=True)
    assert 'id="review-no-pages"' in page


def test_the_review_image_is_larger_than_a_thumbnail(login, box, dossier_code, tmp_path):
    big = tmp_path / "big.png"
    Image.new("RGB", (2000, 2800), "white").save(big)
    page_id = import_files(box, dossier_code, [big], actor="test").pages[0]["id"]
    with login("operator").get(f"/pages/{page_id}/view.jpg") as answer:
        assert answer.status_code == 200 and answer.mimetype == "image/jpeg"
        assert max(Image.open(BytesIO(answer.data)).size) == 1600


def test_the_dossier_page_links_to_the_review(login, dossier_code):
    page = login("operator").get(f"/dossiers/{dossier_code}").get_data(as_text=True)
    assert f'id="review-open" href="/dossiers/{dossier_code}/review"' in page


def test_a_page_read_by_tesseract_shows_its_words_and_their_doubts(login, box, dossier_code,
                                                                   tmp_path):
    from device.ocr.engine import OcrEngine
    from device.worker import run_once, word_boxes
    from tests.device.test_worker import rendered

    import_files(box, dossier_code, [rendered(tmp_path)], actor="test")
    with OcrEngine() as engine:
        assert run_once(box, engine).processed == 1
    stored = word_boxes.decode(box.blobs.read(page_by_id(box.db, 1)["hocr_sha256"]))
    doubtful = [w for w in stored["words"] if w[5] < 70]
    page = login("operator").get(review_path(dossier_code)).get_data(as_text=True)
    assert f'data-count="{len(doubtful)}"' in page
    assert page.count('<rect class="low-box"') == len(doubtful)
    shown = page.count('<span class="word">') + page.count('<mark class="low-word"')
    assert shown == len(stored["words"])
    assert "Đồng" in page and "QUYẾT" in page


def test_approval_in_review_is_packaged_by_the_next_worker_pass(login, box, dossier_code,
                                                                page_png):
    from device.ocr.engine import OcrEngine
    from device.worker import run_once

    submitted(box, dossier_code, page_png)
    session = login("reviewer")
    answer = session.post(f"/dossiers/{dossier_code}/review/approve", {"n": "1"})
    assert answer.status_code == 303
    page = session.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'id="dossier-packaging"' in page and 'data-state="pending"' in page
    assert "Đang đóng gói hồ sơ" in page
    with OcrEngine() as engine:
        assert run_once(box, engine).packaged == 1
    assert dossier_json(box, dossier_code)["state"] == "packaged"
    page = session.get(f"/dossiers/{dossier_code}").get_data(as_text=True)
    assert "đã đóng gói" in page and 'id="dossier-packaging"' not in page


def test_the_dossier_page_says_why_packaging_failed(login, box, dossier_code, page_png):
    from device.catalog.dossiers import approve
    from device.ocr.engine import OcrEngine
    from device.worker import run_once

    page_id = submitted(box, dossier_code, page_png)
    with OcrEngine() as engine:
        assert run_once(box, engine).processed == 1  # the import's own job, read for real
        approve(box, dossier_code, actor="test")
        box.blobs.path(page_by_id(box.db, page_id)["master_sha256"]).unlink()  # a lost master
        assert run_once(box, engine).packaging_failed == 1
    page = login("operator").get(f"/dossiers/{dossier_code}").get_data(as_text=True)
    assert 'data-state="failed"' in page
    assert re.search(r"Đóng gói lỗi: [^<]*master [0-9a-f]{64} is missing", page), page
    assert dossier_json(box, dossier_code)["state"] == "approved"


def corrections_on(box, page_id: int) -> list[dict]:
    return [e for e in events_for(box.db, "page", page_id) if e["action"] == "page.text_corrected"]


def test_a_correction_is_not_saved_onto_a_page_moved_into_its_place(login, box, dossier_code,
                                                                     page_png):
    from device.catalog.pages import move_page

    first = processed_page(box, dossier_code, page_png)
    second = processed_page(box, dossier_code, page_png)
    move_page(box, second, position=1, document_seq=1, actor="test")  # one document, two pages
    session = login("operator")
    form = opened_form(session, dossier_code, 1)
    assert form["page_id"] == str(second)
    move_page(box, first, position=1, actor="web:other")  # another clerk reorders meanwhile
    refused = save_text(session, dossier_code, CORRECTED, form=form)
    assert refused.status_code == 409
    shown = refused.get_data(as_text=True)
    assert "trang bạn sửa nay là trang 2, không còn là trang 1" in shown
    assert f">{CORRECTED}</textarea>" in shown  # what was typed is kept, on its own page
    assert f'name="page_id" value="{second}"' in shown
    assert page_text(box, page_by_id(box.db, first)).corrected is None
    assert page_text(box, page_by_id(box.db, second)).corrected is None
    assert corrections_on(box, first) == corrections_on(box, second) == []


def test_a_correction_is_not_saved_when_the_page_was_read_again(login, box, dossier_code,
                                                                page_png):
    page_id = processed_page(box, dossier_code, page_png)
    session = login("operator")
    form = opened_form(session, dossier_code)
    assert form["ocr_words"] == page_by_id(box.db, page_id)["hocr_sha256"]
    processed_page(box, dossier_code, page_png, ocr_result([[("Quyết", 95.0), ("định", 90.0)]]),
                   page_id=page_id)  # a retake read meanwhile
    refused = save_text(session, dossier_code, CORRECTED, form=form)
    assert refused.status_code == 409
    shown = refused.get_data(as_text=True)
    assert "Trang đã được xử lý lại" in shown and f">{CORRECTED}</textarea>" in shown
    assert page_text(box, page_by_id(box.db, page_id)).corrected is None
    assert corrections_on(box, page_id) == []


def test_a_correction_of_a_deleted_page_is_kept_apart_and_saved_nowhere(login, box, dossier_code,
                                                                        page_png):
    from device.catalog.pages import delete_page, move_page

    first = processed_page(box, dossier_code, page_png)
    second = processed_page(box, dossier_code, page_png)
    move_page(box, second, position=2, document_seq=1, actor="test")
    session = login("operator")
    form = opened_form(session, dossier_code)
    delete_page(box, first, actor="web:other")
    refused = save_text(session, dossier_code, CORRECTED, form=form)
    assert refused.status_code == 409
    shown = refused.get_data(as_text=True)
    assert "Trang bạn sửa không còn trong hồ sơ" in shown
    assert re.search(r'id="review-unsaved-text" rows="6" readonly>' + re.escape(CORRECTED), shown)
    assert f">{CORRECTED}</textarea>" not in shown.split('id="review-correct"')[1]
    assert page_text(box, page_by_id(box.db, second)).corrected is None
    assert save_text(session, dossier_code, CORRECTED, form={}).status_code == 400  # no page named


def test_the_review_image_is_asked_for_again_and_changes_with_the_page(login, box, dossier_code,
                                                                       page_png, tmp_path):
    page_id = processed_page(box, dossier_code, page_png)
    session = login("operator")
    with session.get(f"/pages/{page_id}/view.jpg") as first:
        assert first.status_code == 200 and "no-cache" in first.headers["Cache-Control"]
        assert "max-age=60" not in first.headers["Cache-Control"]
        etag = first.headers["ETag"]
    with session.get(f"/pages/{page_id}/view.jpg", headers={"If-None-Match": etag}) as again:
        assert again.status_code == 304
    retaken = tmp_path / "retaken.png"
    Image.new("RGB", (320, 452), "gray").save(retaken)
    processed_page(box, dossier_code, retaken, page_id=page_id)  # a new master
    with session.get(f"/pages/{page_id}/view.jpg", headers={"If-None-Match": etag}) as after:
        assert after.status_code == 200 and after.headers["ETag"] != etag


def test_an_english_session_sees_the_review_in_english(login, box, dossier_code, page_png):
    processed_page(box, dossier_code, page_png)
    session = login("reviewer")
    session.post("/language", {"language": "en", "next": "/"})
    page = session.get(review_path(dossier_code)).get_data(as_text=True)
    assert re.search(r'id="review-state">[A-Za-z ]+</span>', page)
    assert "End date: is required to approve" in page and "bắt buộc" not in page
    answer = session.post(f"/dossiers/{dossier_code}/review/approve", {"n": "1"},
                          follow_redirects=True)
    shown = answer.get_data(as_text=True)
    assert "Subject: is required to approve" in shown
    assert "Trích yếu" not in shown and "bắt buộc" not in shown
