"""The language switch: Vietnamese first, English on request for that session only, local times."""

from __future__ import annotations

import datetime as dt


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
