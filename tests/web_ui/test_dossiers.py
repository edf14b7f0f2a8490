"""Dossier pages: create with a Vietnamese field error that stores nothing, then corrected;
edit keeps suggestions unconfirmed; approval for reviewers only; thumbnails of pages, at most
PAGES_SHOWN per document."""

from __future__ import annotations

import pytest

from device.catalog.describe import dossier_json, dossier_list_json
from device.catalog.documents import set_document_fields
from device.catalog.dossiers import set_dossier_fields
from device.db import records
from device.db.events import events_for
from device.db.pages import NewPage, add_pages, record_capture
from device.intake import import_files
from tests.conftest import VALID_DOSSIER
from web_ui.dossiers import PAGES_SHOWN

FORM = {"fileCode": "H49.64.33.2001.161", "title": "Hồ sơ về việc xây trường học",
        "maintenance": "01", "mode": "01", "language": "01", "startDate": "15/09/2001",
        "confidenceLevel": "02", "riskRecovery": "0"}
COMPLETE_DOSSIER = {"endDate": "2002", "format": "01", "paperFileCode": "G09.K1-G2-H3.160"}
COMPLETE_DOCUMENT = {"typeName": "02", "issuedDate": "15/09/2001", "organName": "UBND xã Thử",
                     "subject": "Về việc thành lập tổ dân phố"}


def test_a_bad_form_shows_the_vietnamese_field_error_and_stores_nothing(login, box):
    session = login("operator")
    answer = session.post("/dossiers/new", {**FORM, "startDate": "31/02/2001"})
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert 'id="e-startDate">ngày “31/02/2001” không tồn tại: hãy kiểm tra lại ngày và tháng' in page
    assert ">Hồ sơ về việc xây trường học</textarea>" in page  # what was typed is kept
    assert dossier_list_json(box) == []
    assert events_for(box.db, "dossier") == []

    fixed = session.post("/dossiers/new", {**FORM, "startDate": "15/09/2001"})
    assert fixed.status_code == 303
    assert fixed.headers["Location"] == "/dossiers/H49.64.33.2001.161"
    stored = dossier_json(box, "H49.64.33.2001.161")
    assert stored["title"] == FORM["title"] and stored["startDate"] == "15/09/2001"
    assert stored["language"] == ["01"] and stored["fondsCode"] == "P01"
    assert [event["actor"] for event in events_for(box.db, "dossier")] == ["web:operator"]


def test_a_missing_required_field_is_named(login, box):
    answer = login("operator").post("/dossiers/new", {**FORM, "title": ""})
    assert answer.status_code == 400
    assert 'id="e-title">bắt buộc phải nhập' in answer.get_data(as_text=True)
    assert dossier_list_json(box) == []


def test_code_lists_are_choices(login):
    page = login("operator").get("/dossiers/new").get_data(as_text=True)
    assert '<option value="03">03 – Mật</option>' in page
    assert '<option value="09">09 – Hán Nôm</option>' in page


def test_the_list_shows_progress(login, box, dossier_code, page_png):
    import_files(box, dossier_code, [page_png, page_png], actor="test")
    page = login("operator").get("/").get_data(as_text=True)
    assert dossier_code in page and VALID_DOSSIER["title"] in page
    assert '<td class="num">1</td><td class="num">2</td>' in page
    assert "nháp" in page


def test_editing_saves_only_what_changed(login, box, dossier_code):
    set_dossier_fields(box, dossier_code, {"keyword": "thành lập xã"}, actor="ocr",
                       source="suggested")
    session = login("operator")
    form = session.get(f"/dossiers/{dossier_code}/edit").get_data(as_text=True)
    assert 'value="thành lập xã"' in form
    answer = session.post(f"/dossiers/{dossier_code}/edit",
                          {**FORM, "fileCode": dossier_code, "title": "Tiêu đề mới",
                           "startDate": "15/09/2001", "keyword": "thành lập xã"})
    assert answer.status_code == 303
    stored = dossier_json(box, dossier_code)
    assert stored["title"] == "Tiêu đề mới"
    # The suggestion was shown and sent back unchanged: it stays a suggestion, not confirmed.
    assert stored["fieldSources"]["keyword"] == "suggested"
    assert stored["fieldSources"]["title"] == "entered"
    changed = events_for(box.db, "dossier")[-1]
    assert changed["actor"] == "web:operator"


def _ready_for_review(box, code, page_png) -> None:
    from tests.device.catalog.test_corrections import processed_page

    processed_page(box, code, page_png)  # approval waits for the worker to have read every page
    set_dossier_fields(box, code, COMPLETE_DOSSIER, actor="test")
    set_document_fields(box, f"{code}.1", COMPLETE_DOCUMENT, actor="test")


def test_an_operator_cannot_approve_or_return(login, box, dossier_code, page_png):
    _ready_for_review(box, dossier_code, page_png)
    session = login("operator")
    assert session.post(f"/dossiers/{dossier_code}/submit").status_code == 303
    assert session.post(f"/dossiers/{dossier_code}/approve").status_code == 403
    assert session.post(f"/dossiers/{dossier_code}/return").status_code == 403
    assert dossier_json(box, dossier_code)["state"] == "in_review"
    assert "Duyệt hồ sơ" not in session.get(f"/dossiers/{dossier_code}").get_data(as_text=True)


def test_a_reviewer_approves_and_the_trail_names_them(login, box, dossier_code, page_png):
    _ready_for_review(box, dossier_code, page_png)
    login("operator").post(f"/dossiers/{dossier_code}/submit")
    session = login("reviewer")
    assert "Duyệt hồ sơ" in session.get(f"/dossiers/{dossier_code}").get_data(as_text=True)
    answer = session.post(f"/dossiers/{dossier_code}/approve")
    assert answer.status_code == 303
    assert dossier_json(box, dossier_code)["state"] == "approved"
    approval = [e for e in events_for(box.db, "dossier") if e["action"] == "dossier.approve"]
    assert [e["actor"] for e in approval] == ["web:reviewer"]
    assert "đã duyệt" in session.get(answer.headers["Location"]).get_data(as_text=True)


def test_a_reviewer_returns_with_a_comment(login, box, dossier_code, page_png):
    _ready_for_review(box, dossier_code, page_png)
    login("operator").post(f"/dossiers/{dossier_code}/submit")
    login("reviewer").post(f"/dossiers/{dossier_code}/return", {"comment": "Thiếu trang 2"})
    assert dossier_json(box, dossier_code)["state"] == "returned"
    returned = [e for e in events_for(box.db, "dossier") if e["action"] == "dossier.return"]
    assert returned[0]["details"]["comment"] == "Thiếu trang 2"


def test_an_incomplete_dossier_is_not_approved_and_says_why(login, box, dossier_code):
    session = login("reviewer")
    answer = session.post(f"/dossiers/{dossier_code}/approve")
    assert dossier_json(box, dossier_code)["state"] == "draft"
    page = session.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Chưa duyệt được hồ sơ" in page and "Thời gian kết thúc" in page


def test_page_thumbnails_are_small_jpegs_and_cached(login, box, dossier_code, page_png):
    from io import BytesIO

    from PIL import Image

    report = import_files(box, dossier_code, [page_png], actor="test")
    page_id = report.pages[0]["id"]
    session = login("operator")
    show = session.get(f"/dossiers/{dossier_code}").get_data(as_text=True)
    assert f"/pages/{page_id}/thumb.jpg" in show
    with session.get(f"/pages/{page_id}/thumb.jpg") as answer:
        assert answer.status_code == 200 and answer.mimetype == "image/jpeg"
        image = Image.open(BytesIO(answer.data))
    assert max(image.size) == 240
    assert len(list((box.config.paths.data_dir / "cache" / "thumbs").iterdir())) == 1
    with session.get("/pages/999999/thumb.jpg") as missing:
        assert missing.status_code == 404


@pytest.mark.parametrize("role", ["operator", "reviewer", "admin"])
def test_every_role_sees_the_list(login, role):
    assert login(role).get("/").status_code == 200


def test_a_thousand_page_document_shows_twelve_thumbnails_and_links_to_the_rest(
        login, box, dossier_code, page_png):
    dossier = records.dossier_by_code(box.db, dossier_code)
    document_id, _ = records.insert_document(box.db, dossier["id"], {})
    capture = record_capture(box.db, raw_sha256="0" * 64, media_type="image/png", source="test",
                             dossier_id=dossier["id"])
    ids = add_pages(box.db, document_id, capture, [NewPage()] * 1000)
    import_files(box, dossier_code, [page_png] * 3, actor="test")  # a short second document
    session = login("operator")
    page = session.get(f"/dossiers/{dossier_code}").get_data(as_text=True)
    assert page.count("/thumb.jpg") == PAGES_SHOWN + 3
    assert "Trang: 1003" in page and "Tài liệu: 2" in page  # counts are of the whole dossier
    link = f'href="/dossiers/{dossier_code}/pages?page={ids[PAGES_SHOWN]}#p{ids[PAGES_SHOWN]}"'
    assert link in page and f"+ {1000 - PAGES_SHOWN} trang nữa" in page
    assert page.count("trang nữa") == 1  # the three-page document shows all its pages
    grid = session.get(f"/dossiers/{dossier_code}/pages?page={ids[PAGES_SHOWN]}").get_data(
        as_text=True)
    assert f'data-page-id="{ids[PAGES_SHOWN]}"' in grid
