"""The page grid over HTTP: each action changes the box and is audited with the user; CSRF and
lifecycle refusals change nothing; a 1,000-page dossier shows one bounded screen of thumbnails;
deleted pages are listed under the grid and put back."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from device.catalog.dossiers import move as move_dossier
from device.db import records
from device.db.events import events_for
from device.db.jobs import job_by_subject
from device.db.pages import NewPage, add_pages, page_by_id, pages_of, record_capture
from device.intake import PROCESS_PAGE, import_files
from web_ui.pages import PER_SCREEN


@pytest.fixture
def pages(box, dossier_code, page_png):
    """Document 1 with three pages, document 2 with two."""
    first = import_files(box, dossier_code, [page_png] * 3, actor="test")
    second = import_files(box, dossier_code, [page_png] * 2, actor="test")
    return [p["id"] for p in first.pages], [p["id"] for p in second.pages]


def layout(box, code) -> list[list[int]]:
    dossier = records.dossier_by_code(box.db, code)
    return [[p["id"] for p in pages_of(box.db, d["id"])]
            for d in records.documents_of(box.db, dossier["id"])]


def grid_url(code: str) -> str:
    return f"/dossiers/{code}/pages"


def text_of(answer) -> str:
    return answer.get_data(as_text=True)


def asked(session, code: str, seq: int, action: str) -> tuple[str, str | None]:
    """The confirmation page of merging or removing document `seq`, and the document id its
    form carries (None when it offers no confirmation)."""
    page = text_of(session.get(f"/dossiers/{code}/documents/{seq}/{action}"))
    found = re.search(r'name="document_id" value="(\d+)"', page)
    return page, found.group(1) if found else None


def confirm(session, code: str, seq: int, action: str):
    """Ask, then confirm, as the operator does; follows to the grid."""
    _page, opened = asked(session, code, seq, action)
    assert opened, f"no confirmation offered to {action} document {seq}"
    return session.post(f"/dossiers/{code}/documents/{seq}/{action}", {"document_id": opened},
                        follow_redirects=True)


def test_the_dossier_page_links_to_a_grid_grouped_by_document(login, box, dossier_code, pages):
    session = login("operator")
    assert f'href="/dossiers/{dossier_code}/pages"' in text_of(session.get(f"/dossiers/{dossier_code}"))
    box.db.conn.execute("""UPDATE pages SET qc_flags = '{"blur": {"flagged": true,
        "reason_key": "qc.blur", "score": 9}}' WHERE id = ?""", (pages[0][1],))
    answer = session.get(grid_url(dossier_code))
    assert answer.status_code == 200
    page = text_of(answer)
    assert page.count('class="pg-doc"') == 2
    assert re.findall(r'data-page-id="(\d+)"\s+data-document-seq="(\d)"', page) == [
        (str(i), "1") for i in pages[0]] + [(str(i), "2") for i in pages[1]]
    assert "Ảnh bị mờ" in page  # the QC flag, in Vietnamese
    assert f'href="/capture?retake={pages[0][0]}"' in page
    assert 'id="merge-2"' in page and 'id="merge-1"' not in page


def test_a_move_form_reorders_and_names_the_user(login, box, dossier_code, pages):
    first, second = pages
    answer = login("operator").post(f"{grid_url(dossier_code)}/{second[1]}/move",
                                    {"document": "1", "position": "1"})
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"?page={second[1]}#p{second[1]}")
    assert layout(box, dossier_code) == [[second[1], *first], [second[0]]]
    event = events_for(box.db, "page")[-1]
    assert (event["action"], event["actor"]) == ("page.move", "web:operator")


def test_a_scripted_move_answers_json(login, box, dossier_code, pages):
    first, _ = pages
    session = login("operator")
    answer = session.client.post(f"{grid_url(dossier_code)}/{first[0]}/move",
                                 data={"document": "1", "position": "3"},
                                 headers={"X-CSRFToken": session.token, "Accept": "application/json"})
    assert answer.status_code == 200, text_of(answer)
    assert answer.get_json()["ok"] is True
    assert layout(box, dossier_code)[0] == [first[1], first[2], first[0]]


def test_a_drop_names_the_document_it_saw_and_is_refused_once_that_was_renumbered(
        login, box, dossier_code, pages):
    first, second = pages
    session = login("operator")
    grid = text_of(session.get(grid_url(dossier_code)))
    dossier = records.dossier_by_code(box.db, dossier_code)
    second_id = records.documents_of(box.db, dossier["id"])[1]["id"]
    assert f'data-document-seq="2" data-document-id="{second_id}"' in grid

    def drop(document_id: int):
        return session.client.post(f"{grid_url(dossier_code)}/{first[0]}/move",
                                   data={"document": "2", "document_id": str(document_id),
                                         "position": "1"},
                                   headers={"X-CSRFToken": session.token,
                                            "Accept": "application/json"})
    from device.catalog.pages import split_document

    split_document(box, first[2], actor="web:binh")  # meanwhile: document 2 is now [first[2]]
    answer = drop(second_id)
    assert answer.status_code == 409 and "tách hoặc gộp" in answer.get_json()["message_vi"]
    assert layout(box, dossier_code) == [first[:2], [first[2]], second]


def test_a_bad_position_is_refused_in_vietnamese(login, box, dossier_code, pages):
    session = login("operator")
    answer = session.post(f"{grid_url(dossier_code)}/{pages[0][0]}/move",
                          {"document": "1", "position": "đầu"}, follow_redirects=True)
    assert "Vị trí và số tài liệu phải là số nguyên." in text_of(answer)
    answer = session.post(f"{grid_url(dossier_code)}/{pages[0][0]}/move",
                          {"document": "7", "position": "1"})
    assert answer.status_code == 404
    assert "Không có tài liệu số 7" in text_of(answer)
    assert layout(box, dossier_code) == [pages[0], pages[1]]


def test_rotate_queues_the_page_again(login, box, dossier_code, pages):
    page_id = pages[0][0]
    answer = login("operator").post(f"{grid_url(dossier_code)}/{page_id}/rotate", {"degrees": "270"},
                                    follow_redirects=True)
    assert "Đã xoay trang" in text_of(answer) and "Đã xoay 270°" in text_of(answer)
    assert page_by_id(box.db, page_id)["rotation"] == 270
    assert job_by_subject(box.db, PROCESS_PAGE, f"page:{page_id}")["state"] == "queued"


def test_split_then_merge(login, box, dossier_code, pages):
    first, second = pages
    session = login("operator")
    answer = session.post(f"{grid_url(dossier_code)}/{first[1]}/split", follow_redirects=True)
    assert f"Đã tách thành tài liệu mới {dossier_code}.2" in text_of(answer)
    assert layout(box, dossier_code) == [first[:1], first[1:], second]
    answer = confirm(session, dossier_code, 2, "merge")
    assert f"Đã gộp vào tài liệu {dossier_code}.1" in text_of(answer)
    assert layout(box, dossier_code) == [first, second]
    assert [e["action"] for e in events_for(box.db, "document")][-2:] == [
        "document.split", "document.merge"]


def test_delete_asks_first_then_removes_the_page(login, box, dossier_code, pages):
    first, second = pages
    session = login("operator")
    confirm = session.get(f"{grid_url(dossier_code)}/{first[1]}/delete")
    assert confirm.status_code == 200 and "Xóa trang 2 của tài liệu" in text_of(confirm)
    assert layout(box, dossier_code) == [first, second]  # asking changed nothing
    answer = session.post(f"{grid_url(dossier_code)}/{first[1]}/delete", follow_redirects=True)
    assert "Đã xóa trang" in text_of(answer)
    assert layout(box, dossier_code) == [[first[0], first[2]], second]
    assert events_for(box.db, "page")[-1]["actor"] == "web:operator"


def test_the_corners_editor_posts_a_quad_in_image_pixels(login, box, dossier_code, pages):
    page_id = pages[0][0]
    session = login("operator")
    editor = text_of(session.get(f"{grid_url(dossier_code)}/{page_id}/corners"))
    assert 'viewBox="0 0 320 452"' in editor  # the page PNG's own pixels
    assert len(re.findall(r'<circle class="pg-handle"', editor)) == 4
    source = session.get(f"{grid_url(dossier_code)}/{page_id}/source.jpg")
    assert source.status_code == 200 and Image.open(io.BytesIO(source.data)).size == (320, 452)
    source.close()
    quad = {"tl_x": "10", "tl_y": "12", "tr_x": "300", "tr_y": "8",
            "br_x": "310", "br_y": "440", "bl_x": "5", "bl_y": "445"}
    answer = session.post(f"{grid_url(dossier_code)}/{page_id}/corners", quad, follow_redirects=True)
    assert "Đã lưu bốn góc" in text_of(answer) and "Góc chỉnh tay" in text_of(answer)
    assert '"quad": [[10.0, 12.0]' in page_by_id(box.db, page_id)["manual_quad"]
    assert job_by_subject(box.db, PROCESS_PAGE, f"page:{page_id}")["state"] == "queued"
    reset = session.post(f"{grid_url(dossier_code)}/{page_id}/corners", {"reset": "1"})
    assert reset.status_code == 303 and page_by_id(box.db, page_id)["manual_quad"] is None


def test_crossed_corners_are_refused_and_nothing_is_stored(login, box, dossier_code, pages):
    page_id = pages[0][0]
    crossed = {"tl_x": "0", "tl_y": "0", "tr_x": "300", "tr_y": "400",
               "br_x": "300", "br_y": "0", "bl_x": "0", "bl_y": "400"}
    answer = login("operator").post(f"{grid_url(dossier_code)}/{page_id}/corners", crossed,
                                    follow_redirects=True)
    assert "Các góc phải theo thứ tự" in text_of(answer)
    assert page_by_id(box.db, page_id)["manual_quad"] is None


def test_a_post_without_the_csrf_token_is_refused(login, box, dossier_code, pages):
    session = login("operator")
    answer = session.client.post(f"{grid_url(dossier_code)}/{pages[0][0]}/rotate",
                                 data={"degrees": "90"})
    assert answer.status_code == 400
    assert page_by_id(box.db, pages[0][0])["rotation"] == 0
    assert events_for(box.db, "page") == []


def test_a_dossier_in_review_is_shown_read_only_and_refuses_changes(login, box, dossier_code, pages):
    move_dossier(box, dossier_code, "submit", actor="test")
    session = login("operator")
    grid = text_of(session.get(grid_url(dossier_code)))
    assert "chỉ xem, không sửa được trang" in grid
    assert "/rotate" not in grid and 'draggable="true"' not in grid
    answer = session.post(f"{grid_url(dossier_code)}/{pages[0][0]}/rotate", {"degrees": "90"},
                          follow_redirects=True)
    assert "hãy mở lại để sửa" in text_of(answer)
    scripted = session.client.post(f"{grid_url(dossier_code)}/{pages[0][0]}/move",
                                   data={"document": "1", "position": "2"},
                                   headers={"X-CSRFToken": session.token, "Accept": "application/json"})
    assert scripted.status_code == 409 and "hãy mở lại" in scripted.get_json()["message_vi"]
    assert layout(box, dossier_code) == [pages[0], pages[1]]
    assert page_by_id(box.db, pages[0][0])["rotation"] == 0


def test_a_thousand_page_dossier_shows_one_bounded_screen(login, box, dossier_code):
    dossier = records.dossier_by_code(box.db, dossier_code)
    document_id, _ = records.insert_document(box.db, dossier["id"], {})
    capture = record_capture(box.db, raw_sha256="0" * 64, media_type="image/png", source="test",
                             dossier_id=dossier["id"])
    ids = add_pages(box.db, document_id, capture, [NewPage()] * 1000)
    session = login("operator")
    first = text_of(session.get(grid_url(dossier_code)))
    assert first.count("/thumb.jpg") == PER_SCREEN
    assert first.count('loading="lazy"') == PER_SCREEN
    assert f"Trang 1–{PER_SCREEN} trên tổng số 1000" in first
    last = text_of(session.get(grid_url(dossier_code) + f"?page={ids[-1]}"))
    assert last.count("/thumb.jpg") == 1000 % PER_SCREEN
    assert f'data-page-id="{ids[-1]}"' in last and f'data-page-id="{ids[0]}"' not in last
    assert 'rel="next"' not in last and 'rel="prev"' in last


def test_merge_asks_first_and_merges_the_document_it_asked_about(login, box, dossier_code, pages):
    first, second = pages
    session = login("operator")
    grid = text_of(session.get(grid_url(dossier_code)))
    assert f'id="merge-2" data-document-seq="2" href="/dossiers/{dossier_code}/documents/2/merge?screen=1"' in grid
    question, opened = asked(session, dossier_code, 2, "merge")
    assert f"Gộp tài liệu {dossier_code}.2 (2 trang) vào cuối tài liệu {dossier_code}.1 (3 trang)?" \
        in question
    assert layout(box, dossier_code) == [first, second]  # asking changed nothing
    from device.catalog.pages import split_document
    split_document(box, first[1], actor="web:other")  # another clerk: document 2 is now 3
    stale = session.post(f"/dossiers/{dossier_code}/documents/2/merge", {"document_id": opened},
                         follow_redirects=True)
    assert "không còn là tài liệu bạn đã mở" in text_of(stale)
    assert layout(box, dossier_code) == [first[:1], first[1:], second]
    no_id = session.post(f"/dossiers/{dossier_code}/documents/2/merge", follow_redirects=True)
    assert "Biểu mẫu đã cũ" in text_of(no_id)
    assert layout(box, dossier_code) == [first[:1], first[1:], second]
    assert [e["action"] for e in events_for(box.db, "document")][-1] == "document.split"


def test_a_document_with_fields_is_not_merged_and_the_fields_are_named(login, box, dossier_code,
                                                                       pages):
    from device.catalog.documents import set_document_fields

    set_document_fields(box, f"{dossier_code}.2", {"subject": "Về việc cấp đất",
                                                   "codeNumber": "15"}, actor="test")
    session = login("operator")
    question, opened = asked(session, dossier_code, 2, "merge")
    assert opened is None and 'id="pg-merge-confirm"' not in question
    assert "<li>Trích yếu nội dung</li>" in question and "<li>Số của tài liệu</li>" in question
    assert f'href="/dossiers/{dossier_code}/documents/2/edit"' in question
    document_id = records.documents_of(
        box.db, records.dossier_by_code(box.db, dossier_code)["id"])[1]["id"]
    forced = session.post(f"/dossiers/{dossier_code}/documents/2/merge",
                          {"document_id": str(document_id)}, follow_redirects=True)
    assert f"Tài liệu {dossier_code}.2 đã có thông tin: Số của tài liệu, Trích yếu nội dung" \
        in text_of(forced)
    assert layout(box, dossier_code) == list(pages)
    assert events_for(box.db, "document")[-1]["action"] == "document.update"


def test_an_empty_document_is_shown_and_can_be_removed(login, box, dossier_code, pages):
    from device.catalog.documents import new_document
    from device.catalog.dossiers import load

    first, second = pages
    for page_id in second:  # document 2 left empty by moving its pages away
        login("operator").post(f"{grid_url(dossier_code)}/{page_id}/move",
                               {"document": "1", "position": "99"})
    new_document(box, load(box, dossier_code), actor="test")  # document 3, empty too
    session = login("operator")
    grid = text_of(session.get(grid_url(dossier_code)))
    assert grid.count('class="pg-doc"') == 3
    assert 'id="empty-2"' in grid and 'id="empty-3"' in grid
    assert f'id="remove-2" data-document-seq="2" href="/dossiers/{dossier_code}/documents/2/remove?screen=1"' in grid
    assert 'id="merge-2"' in grid and 'id="remove-1"' not in grid
    answer = confirm(session, dossier_code, 2, "remove")
    assert f"Đã bỏ tài liệu trống {dossier_code}.2" in text_of(answer)
    assert layout(box, dossier_code) == [first + second, []]  # document 3 is now 2
    event = events_for(box.db, "document")[-1]
    assert (event["action"], event["actor"]) == ("document.remove", "web:operator")
    refused, opened = asked(session, dossier_code, 1, "remove")
    assert opened is None and "chỉ bỏ được tài liệu không có trang nào" in refused
    assert "Đã bỏ tài liệu trống" in text_of(confirm(session, dossier_code, 2, "remove"))
    assert layout(box, dossier_code) == [first + second]


def test_an_english_session_sees_the_grid_and_its_refusals_in_english(login, box, dossier_code,
                                                                      pages):
    session = login("operator")
    session.post("/language", {"language": "en", "next": "/"})
    move_dossier(box, dossier_code, "submit", actor="test")
    grid = text_of(session.get(grid_url(dossier_code)))
    locked = re.search(r'id="pg-locked">([^<]*)<', grid).group(1)
    assert locked.startswith("The dossier is ") and "đang" not in locked
    answer = session.post(f"{grid_url(dossier_code)}/{pages[0][0]}/rotate", {"degrees": "90"},
                          follow_redirects=True)
    assert "mở lại" not in text_of(answer) and "reopen" in text_of(answer).lower()
    scripted = session.client.post(f"{grid_url(dossier_code)}/{pages[0][0]}/move",
                                   data={"document": "1", "position": "2"},
                                   headers={"X-CSRFToken": session.token, "Accept": "application/json"})
    assert scripted.status_code == 409 and "mở lại" not in scripted.get_json()["message_vi"]


def deleted_ids(page: str) -> list[str]:
    return re.findall(r'data-deleted-id="(\d+)"', page)


def test_a_deleted_page_is_listed_with_its_thumbnail_and_restored(login, box, dossier_code, pages):
    first, second = pages
    session = login("operator")
    session.post(f"{grid_url(dossier_code)}/{first[1]}/delete")
    grid = text_of(session.get(grid_url(dossier_code)))
    assert "Trang đã xóa" in grid and "Trang 2 của tài liệu" in grid and "web:operator" in grid
    [deleted] = deleted_ids(grid)
    thumb = session.get(f"/dossiers/{dossier_code}/deleted/{deleted}/thumb.jpg")
    assert thumb.status_code == 200 and Image.open(io.BytesIO(thumb.data)).format == "JPEG"
    thumb.close()
    answer = session.post(f"/dossiers/{dossier_code}/deleted/{deleted}/restore")
    assert answer.status_code == 303
    assert layout(box, dossier_code) == [[first[0], first[2], first[1]], second]  # at its end
    event = events_for(box.db, "page")[-1]
    assert (event["action"], event["actor"]) == ("page.restore", "web:operator")
    after = text_of(session.get(answer.headers["Location"]))
    assert "Đã khôi phục trang: giờ là trang 3 của tài liệu" in after
    assert deleted_ids(after) == [] and 'id="pg-deleted"' not in after
    gone = session.post(f"/dossiers/{dossier_code}/deleted/{deleted}/restore")
    assert gone.status_code == 404  # restored once; nothing left to restore


def test_a_deleted_page_is_not_restored_in_review_or_from_another_dossier(
        login, box, dossier_code, pages):
    first, second = pages
    session = login("operator")
    session.post(f"{grid_url(dossier_code)}/{first[0]}/delete")
    [deleted] = deleted_ids(text_of(session.get(grid_url(dossier_code))))
    other = session.post("/dossiers/new", {
        "fileCode": "H49.64.33.2001.162", "title": "Hồ sơ khác", "maintenance": "01",
        "mode": "01", "language": "01", "startDate": "15/09/2001", "confidenceLevel": "02",
        "riskRecovery": "0"})
    assert other.status_code == 303
    assert session.post(f"/dossiers/H49.64.33.2001.162/deleted/{deleted}/restore").status_code == 404
    move_dossier(box, dossier_code, "submit", actor="test")
    grid = text_of(session.get(grid_url(dossier_code)))
    assert deleted_ids(grid) == [deleted] and f'id="restore-{deleted}"' not in grid
    refused = session.post(f"/dossiers/{dossier_code}/deleted/{deleted}/restore",
                           follow_redirects=True)
    assert "hãy mở lại để sửa" in text_of(refused)
    assert layout(box, dossier_code) == [first[1:], second]
    assert [e["action"] for e in events_for(box.db, "page")] == ["page.delete"]


def test_the_deleted_pages_read_in_english(login, box, dossier_code, pages):
    session = login("operator")
    session.post("/language", {"language": "en", "next": "/"})
    session.post(f"{grid_url(dossier_code)}/{pages[1][0]}/delete")
    grid = text_of(session.get(grid_url(dossier_code)))
    assert "Deleted pages" in grid and ">Restore</button>" in grid and "Trang đã xóa" not in grid
