"""Document forms: create with a Vietnamese field error that stores nothing, then corrected;
code lists as choices; edit saves what changed and says what approval still needs; a dossier
that is not editable shows its documents read-only and refuses changes."""

from __future__ import annotations

import re

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


def opened_id(session, code: str, seq: int) -> str:
    """The document id the edit form of document `seq` carries as it is shown now."""
    page = session.get(f"/dossiers/{code}/documents/{seq}/edit").get_data(as_text=True)
    found = re.search(r'<input type="hidden" name="document_id" value="(\d+)">', page)
    assert found, "the edit form carries no document id"
    return found.group(1)


def save_document(session, code: str, seq: int, data: dict, opened: str | None = None):
    """Post document `seq`'s edit form (opened now unless `opened` is given)."""
    opened = opened_id(session, code, seq) if opened is None else opened
    return session.post(f"/dossiers/{code}/documents/{seq}/edit", {**data, "document_id": opened})


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

    answer = save_document(session, dossier_code, 1, {**FORM, "subject": "Trích yếu mới"})
    assert answer.status_code == 303
    [stored] = documents(box, dossier_code)
    assert stored["subject"] == "Trích yếu mới" and stored["fieldSources"]["subject"] == "entered"
    assert "mode" not in stored["fieldSources"]  # left empty: still inherited
    after = session.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'id="document-needed"' not in after and "Đã lưu tài liệu" in after
    assert 'value="Trích yếu mới"' in after or ">Trích yếu mới</textarea>" in after

    before = len(events_for(box.db, "document"))
    assert save_document(session, dossier_code, 1,
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
    save_document(session, dossier_code, 1, FORM)
    set_dossier_fields(box, dossier_code, COMPLETE_DOSSIER, actor="test")
    move(box, dossier_code, "submit", actor="test")

    form = session.get(f"/dossiers/{dossier_code}/documents/1/edit").get_data(as_text=True)
    assert "<fieldset disabled>" in form and 'id="document-save"' not in form
    assert 'id="document-readonly"' in form
    refused = save_document(session, dossier_code, 1, {**FORM, "subject": "Khác"})
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


def test_a_form_opened_before_a_split_is_not_saved_into_the_new_document(login, box,
                                                                         dossier_code, page_png):
    from device.catalog.pages import split_document

    first = import_files(box, dossier_code, [page_png] * 2, actor="test").pages
    import_files(box, dossier_code, [page_png], actor="test")
    session = login("operator")
    opened = opened_id(session, dossier_code, 2)
    split_document(box, first[1]["id"], actor="web:other")  # document 2 is now 3
    refused = save_document(session, dossier_code, 2, FORM, opened=opened)
    assert refused.status_code == 409
    shown = refused.get_data(as_text=True)
    assert f"tài liệu bạn đang sửa nay là {dossier_code}.3, không còn là {dossier_code}.2" in shown
    assert "Về việc thành lập tổ dân phố Đồng Tâm" in shown  # what was typed is kept
    assert f'action="/dossiers/{dossier_code}/documents/3/edit"' in shown
    assert [d.get("subject") for d in documents(box, dossier_code)] == [None, None, None]
    again = save_document(session, dossier_code, 3, FORM, opened=opened)  # saved where it now is
    assert again.status_code == 303
    assert [d.get("subject") for d in documents(box, dossier_code)] == [None, None, FORM["subject"]]


def test_a_form_of_a_merged_document_saves_nothing(login, box, dossier_code, page_png):
    from device.catalog.pages import merge_document

    import_files(box, dossier_code, [page_png], actor="test")
    import_files(box, dossier_code, [page_png], actor="test")
    session = login("operator")
    opened = opened_id(session, dossier_code, 2)
    merge_document(box, dossier_code, 2, actor="web:other")
    refused = save_document(session, dossier_code, 2, FORM, opened=opened)
    assert refused.status_code == 409
    shown = refused.get_data(as_text=True)
    assert "Tài liệu bạn đang sửa không còn nữa" in shown and 'id="document-save"' not in shown
    assert [d.get("subject") for d in documents(box, dossier_code)] == [None]
    no_id = session.post(f"/dossiers/{dossier_code}/documents/1/edit", FORM)
    assert no_id.status_code == 400 and "Biểu mẫu đã cũ" in no_id.get_data(as_text=True)
    assert [d.get("subject") for d in documents(box, dossier_code)] == [None]


def test_an_english_session_sees_inherited_fields_in_english(login, dossier_code):
    session = login("operator")
    session.post("/language", {"language": "en", "next": "/"})
    page = session.get(f"/dossiers/{dossier_code}/documents/new").get_data(as_text=True)
    inherited = re.search(r'id="document-inherited">([^<]*)<', page).group(1)
    assert "Thời hạn lưu trữ" not in inherited and "Vĩnh viễn" not in inherited
    assert "Tiếng Việt" not in inherited and "01 – " in inherited
