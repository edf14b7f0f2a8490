"""The language switch: Vietnamese first, English on request for that session only, local times."""

from __future__ import annotations

import datetime as dt
import re


def test_pages_are_vietnamese_until_the_session_switches_to_english(login):
    operator = login("operator")
    page = operator.get("/").get_data(as_text=True)
    assert 'lang="vi"' in page and "Danh sách hồ sơ" in page

    switched = operator.post("/language", {"language": "en", "next": "/search?q=abc"})
    assert switched.status_code == 303 and switched.headers["Location"].endswith("/search?q=abc")
    page = operator.get("/").get_data(as_text=True)
    assert 'lang="en"' in page and "Dossiers" in page and "Danh sách hồ sơ" not in page

    other = login("reviewer")  # another session keeps Vietnamese
    assert "Danh sách hồ sơ" in other.get("/").get_data(as_text=True)


def test_an_unknown_language_or_an_outside_address_changes_nothing(login):
    operator = login("operator")
    answer = operator.post("/language", {"language": "fr", "next": "https://evil.example/x"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/"
    assert operator.post("/language", {"language": "en", "next": "//evil.example"}).headers["Location"] == "/"
    for outside in ("/\\evil.example", "/\\/evil.example", "https:evil.example"):
        assert operator.post("/language", {"next": outside}).headers["Location"] == "/"
    assert operator.post("/language", {"next": "/search?q=a"}).headers["Location"] == "/search?q=a"
    assert 'lang="en"' in operator.get("/").get_data(as_text=True)
    operator.post("/language", {"language": "fr"})
    assert 'lang="en"' in operator.get("/").get_data(as_text=True)


def test_switching_needs_a_login_and_a_csrf_token(app, login):
    anonymous = app.test_client()
    assert anonymous.post("/language", data={"language": "en"}).status_code in (302, 400)
    operator = login("operator")
    refused = operator.client.post("/language", data={"language": "en"})
    assert refused.status_code == 400
    assert 'lang="vi"' in operator.get("/").get_data(as_text=True)


def test_times_are_shown_in_vietnams_time_in_the_sessions_language(app):
    from web_ui.language import local_time

    moment = "2026-11-26T01:30:00+00:00"
    with app.test_request_context("/"):
        app.preprocess_request()
        assert local_time(moment) == "26/11/2026 08:30"  # UTC+7
        assert local_time(dt.datetime(2026, 11, 26, 1, 30)) == "26/11/2026 08:30"  # naive = UTC
        assert local_time("") == "" and local_time("not a time") == "not a time"
    from flask import g
    from flask_babel import force_locale

    with app.test_request_context("/"), force_locale("en"):
        g.language = "en"
        assert local_time(moment) == "26 Nov 2026, 08:30"


def test_an_english_session_gets_english_states_and_refusals(login, dossier_code):
    from device.records.lifecycle import state_label

    admin = login("admin")
    admin.post("/language", {"language": "en", "next": "/"})
    listing = admin.get("/").get_data(as_text=True)
    shown = admin.get(f"/dossiers/{dossier_code}").get_data(as_text=True)
    for page in (listing, shown):
        assert state_label("draft", "en") in page and state_label("draft", "vi") not in page
    refused = admin.post("/users/operator/password", {"password": "ngan"}, follow_redirects=True)
    settings = admin.post("/sync/settings", {"bandwidth_kb": "nhanh", "time_windows": ""},
                          follow_redirects=True)
    submitted = admin.post(f"/dossiers/{dossier_code}/approve", follow_redirects=True)
    for answer in (refused, settings, submitted):
        flashes = re.findall(r'class="flash error"[^>]*>([^<]*)<', answer.get_data(as_text=True))
        assert flashes and not any(re.search(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệịỉĩọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]",
                                                 text, re.I) for text in flashes), flashes


def test_sizes_use_the_sessions_decimal_mark(login):
    operator = login("operator")
    disk = r'id="device-disk"[^>]*>\s*[^<]*?\d+{mark}\d (?:kB|MB|GB)'
    assert re.search(disk.format(mark=","), operator.get("/device").get_data(as_text=True))
    operator.post("/language", {"language": "en", "next": "/"})
    assert re.search(disk.format(mark=r"\."), operator.get("/device").get_data(as_text=True))
