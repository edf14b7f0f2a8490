"""An English session sees the core's data in English too (TT05 labels, code names, field
problems, state names, error messages); a Vietnamese session sees none of that English."""

from __future__ import annotations

from html import unescape

import pytest
from flask import render_template_string

from device.catalog.documents import new_document
from device.catalog.dossiers import load
from device.errors import StateError
from tests.web_ui.conftest import csrf_token, log_in
from tests.web_ui.test_dossiers import FORM

# (English, Vietnamese) pairs the dossier form shows: field labels, a code name, a fonds label.
FORM_WORDS = [(">Start date", ">Thời gian bắt đầu"), (">Retention period", ">Thời hạn lưu trữ"),
              ("01 – Permanent</option>", "01 – Vĩnh viễn</option>"),
              ("03 – Secret</option>", "03 – Mật</option>"), (">Fonds code", ">Mã phông")]


def page_of(answer) -> str:
    return unescape(answer.get_data(as_text=True))


@pytest.fixture
def english(login):
    session = login("operator")
    assert session.post("/language", {"language": "en"}).status_code == 303
    return session


@pytest.mark.parametrize("language", ["en", "vi"])
def test_the_dossier_form_shows_labels_and_choices_in_the_sessions_language(login, language):
    session = login("operator")
    session.post("/language", {"language": language})
    page = page_of(session.get("/dossiers/new"))
    shown, hidden = (0, 1) if language == "en" else (1, 0)
    for pair in FORM_WORDS:
        assert pair[shown] in page
        assert pair[hidden] not in page


def test_a_field_problem_is_english_and_an_impossible_date_is_not_called_a_wrong_format(english):
    answer = english.post("/dossiers/new", {**FORM, "startDate": "31/02/2001"})
    assert answer.status_code == 400
    error = page_of(answer).split('id="e-startDate">')[1].split("</p>")[0]
    assert error == "'31/02/2001' is not a real date: check the day and the month"


def test_a_vietnamese_session_sees_the_same_problem_in_vietnamese_only(login):
    page = page_of(login("operator").post("/dossiers/new", {**FORM, "startDate": "31/02/2001"}))
    assert 'id="e-startDate">ngày “31/02/2001” không tồn tại: hãy kiểm tra lại ngày và tháng' in page
    assert "not a real date" not in page and ">Start date" not in page


def test_what_approval_still_needs_is_listed_in_english(english, box, dossier_code):
    new_document(box, load(box, dossier_code), actor="test")
    page = page_of(english.get(f"/dossiers/{dossier_code}/documents/1/edit"))
    assert 'id="document-needed"' in page
    assert "Document type: is required to approve" in page
    assert "02 – Decision</option>" in page and "Quyết định" not in page.split('id="document-form"')[1]


@pytest.mark.parametrize(("language", "expected"), [("en", "in review"), ("vi", "đang kiểm duyệt")])
def test_templates_name_a_state_in_the_sessions_language(app, language, expected):
    with app.test_request_context("/login"):  # a public page: no login needed to get here
        from flask import session
        session["language"] = language
        app.preprocess_request()
        # A view's own `state_label` variable does not hide the filter.
        shown = render_template_string("{{ state | state_label }}", state="in_review",
                                       state_label="nháp")
    assert shown == expected


def test_an_error_from_the_core_is_shown_in_english(english, login):
    page = page_of(english.get("/dossiers/H49.64.33.1999.404"))
    assert "no dossier 'H49.64.33.1999.404'" in page and "Không có hồ sơ" not in page
    vietnamese = page_of(login("reviewer").get("/dossiers/H49.64.33.1999.404"))
    assert "Không có hồ sơ “H49.64.33.1999.404”" in vietnamese and "no dossier" not in vietnamese


def test_english_written_for_the_log_is_not_shown_to_people(app, login):
    def fails():
        raise StateError("page 5: its capture cannot be read ([Errno 2] No such file or "
                         "directory: '/var/lib/sohoa/blobs/ab/cd')",
                         message_vi="Không đọc được ảnh chụp gốc của trang.")
    app.add_url_rule("/fails-for-the-test", "fails_for_the_test", fails)
    session = login("operator")
    session.post("/language", {"language": "en"})
    answer = session.get("/fails-for-the-test")
    page = page_of(answer)
    assert answer.status_code == 409
    assert "The box could not do this" in page and "/var/lib" not in page


def test_the_login_page_offers_the_switch_and_the_login_keeps_the_choice(app, users):
    client = app.test_client()
    page = page_of(client.get("/login"))
    assert 'id="login-language"' in page and 'lang="vi"' in page and "Đăng nhập" in page
    client.post("/language", data={"language": "en", "next": "/login?next=/search",
                                   "csrf_token": csrf_token(client)})
    page = page_of(client.get("/login?next=/search"))
    assert 'lang="en"' in page and "Đăng nhập" not in page
    assert log_in(client, users["operator"]).status_code == 302
    assert 'lang="en"' in client.get("/").get_data(as_text=True)
