"""Document forms: create with a Vietnamese field error that stores nothing, then corrected;
code lists as choices; edit saves what changed and says what approval still needs; a dossier
that is not editable shows its documents read-only and refuses changes."""

from __future__ import annotations

from device.catalog.describe import dossier_json
from device.catalog.dossiers import move, set_dossier_fields
from device.db.events import events_for
from device.intake import import_files
from tests.web_ui.test_escaping_and_search import SCRIPT

FORM = {"typeName": "02", "codeNumber": "15", "codeNotation": "QĐ-UBND",
        "issuedDate": "15/09/2001", "organName": "UBND xã Thử",
        "subject": "Về việc thành lập tổ dân phố Đồng Tâm", "format": "01",
        "riskRecovery": ""}
COMPLETE_DOSSIER = {"endDate": "2002", "format": "01", "paperFileCode": "G09.K1-G2-H3.160"}


def documents(box, code):
    return dossier_json(box, code)["documents"]


def test_a_bad_document_form_shows_the_vietnamese_error_then_is_corrected(login, box, dossier_code):
    session = login("operator")
    answer = session.post(f"/dossiers/{dossier_code}/documents/new",
                          {**FORM, "issuedDate": "31/02/2001"})
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert 'id="e-issuedDate">ngày “31/02/2001” không tồn tại: hãy kiểm tra lại ngày và tháng' in page
    assert 'id="document-errors"' in page and "Hãy sửa các trường được đánh dấu" in page
    assert "Về việc thành lập tổ dân phố Đồng Tâm" in page  # what was typed is kept
    assert documents(box, dossier_code) == []  # no empty document left behind
    assert events_for(box.db, "document") == []

    fixed = session.post(f"/dossiers/{dossier_code}/documents/new", FORM)
    assert fixed.status_code == 303
    assert fixed.headers["Location"] == f"/dossiers/{dossier_code}/documents/1/edit"
    [stored] = documents(box, dossier_code)
    assert stored["docId"] == f"{dossier_code}.1"
    assert (stored["typeName"], stored["issuedDate"], stored["codeNotation"]) == (
        "02", "15/09/2001", "QĐ-UBND")
    assert stored["maintenance"] == "01"  # inherited from the dossier, not typed
    assert "maintenance" not in stored["fieldSources"]
    assert {e["actor"] for e in events_for(box.db, "document")} == {"web:operator"}
    shown = session.get(fixed.headers["Location"]).get_data(as_text=True)
    assert f"Đã tạo tài liệu {dossier_code}.1." in shown


def test_a_too_long_value_is_named_with_its_limit(login, box, dossier_code):
    answer = login("operator").post(f"/dossiers/{dossier_code}/documents/new",
                                    {**FORM, "codeNumber": "123456789012"})
    assert answer.status_code == 400
    assert 'id="e-codeNumber">dài 12 ký tự; tối đa 11' in answer.get_data(as_text=True)
    assert documents(box, dossier_code) == []


def test_code_lists_are_choices_and_inherited_fields_say_what_they_take(login, dossier_code):
    page = login("operator").get(f"/dossiers/{dossier_code}/documents/new").get_data(as_text=True)
    assert '<option value="02">02 – Quyết định</option>' in page
    assert '<option value="03">03 – Hỏng</option>' in page
    assert 'id="document-inherited"' in page
    assert "Thời hạn lưu trữ: 01 – Vĩnh viễn" in page
    assert "Ngôn ngữ: 01 – Tiếng Việt" in page
    assert 'id="f-docId"' not in page and 'id="f-numberOfPage"' not in page  # computed


def test_editing_saves_what_changed_and_lists_what_approval_still_needs(login, box, dossier_code,
                                                                         page_png):
    import_files(box, dossier_code, [page_png], actor="test")
    session = login("operator")
    form = session.get(f"/dossiers/{dossier_code}/documents/1/edit").get_data(as_text=True)
    assert 'id="document-needed"' in form
    for missing in ("Tên loại tài liệu", "Ngày, tháng, năm văn bản", "Cơ quan ban hành",
                    "Trích yếu nội dung"):
        assert f"{missing}: bắt buộc phải nhập để duyệt" in form

    answer = session.post(f"/dossiers/{dossier_code}/documents/1/edit",
                          {**FORM, "subject": "Trích yếu mới"})
    assert answer.status_code == 303
    [stored] = documents(box, dossier_code)
    assert stored["subject"] == "Trích yếu mới" and stored["fieldSources"]["subject"] == "entered"
    assert "mode" not in stored["fieldSources"]  # left empty: still inherited
    after = session.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'id="document-needed"' not in after and "Đã lưu tài liệu" in after
    assert 'value="Trích yếu mới"' in after or ">Trích yếu mới</textarea>" in after

    before = len(events_for(box.db, "document"))
    assert session.post(f"/dossiers/{dossier_code}/documents/1/edit",
                        {**FORM, "subject": "Trích yếu mới"}).status_code == 303
    assert len(events_for(box.db, "document")) == before  # nothing changed, nothing recorded


def test_the_dossier_page_links_to_new_and_edit(login, box, dossier_code, page_png):
    import_files(box, dossier_code, [page_png], actor="test")
    page = login("operator").get(f"/dossiers/{dossier_code}").get_data(as_text=True)
    assert f'href="/dossiers/{dossier_code}/documents/new"' in page and 'id="document-new"' in page
    assert f'href="/dossiers/{dossier_code}/documents/1/edit"' in page
    assert 'id="document-edit-1"' in page


def test_a_dossier_in_review_shows_documents_read_only_and_refuses_changes(login, box,
                                                                            dossier_code, page_png):
    import_files(box, dossier_code, [page_png], actor="test")
    session = login("operator")
    session.post(f"/dossiers/{dossier_code}/documents/1/edit", FORM)
    set_dossier_fields(box, dossier_code, COMPLETE_DOSSIER, actor="test")
    move(box, dossier_code, "submit", actor="test")

    form = session.get(f"/dossiers/{dossier_code}/documents/1/edit").get_data(as_text=True)
    assert "<fieldset disabled>" in form and 'id="document-save"' not in form
    assert 'id="document-readonly"' in form
    refused = session.post(f"/dossiers/{dossier_code}/documents/1/edit", {**FORM, "subject": "Khác"})
    assert refused.status_code == 409
    assert "đang kiểm duyệt" in refused.get_data(as_text=True)
    assert documents(box, dossier_code)[0]["subject"] == FORM["subject"]
    new = session.post(f"/dossiers/{dossier_code}/documents/new", FORM)
    assert new.status_code == 409 and len(documents(box, dossier_code)) == 1
    assert 'id="document-new"' not in session.get(f"/dossiers/{dossier_code}").get_data(as_text=True)


def test_a_subject_with_markup_is_shown_escaped(login, box, dossier_code):
    session = login("operator")
    session.post(f"/dossiers/{dossier_code}/documents/new", {**FORM, "subject": f"Về {SCRIPT}"})
    for path in (f"/dossiers/{dossier_code}/documents/1/edit", f"/dossiers/{dossier_code}"):
        page = session.get(path).get_data(as_text=True)
        assert SCRIPT not in page, path
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page, path


def test_an_unknown_document_is_a_vietnamese_404(login, dossier_code):
    answer = login("operator").get(f"/dossiers/{dossier_code}/documents/7/edit")
    assert answer.status_code == 404
    assert f"Không có tài liệu “{dossier_code}.7”" in answer.get_data(as_text=True)
