"""Every route of the web UI, with every method, refuses a visitor without a session: pages
redirect to the login page, APIs answer 401; only the login page, the language switch and static
files are open."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.web_ui.conftest import csrf_token
from web_ui.web import is_api

# The language switch is open so that the login page can offer it: it only sets the
# session's language, and still needs the CSRF token (test_the_language_switch_is_open_...).
OPEN = {"auth.login", "auth.favicon", "language.choose", "static"}
SAMPLE_ARGS = {"integer": 1, "default": "H49.64.33.2001.160", "path": "sohoa.css"}


def every_request(app):
    """(endpoint, method, url) for each rule of app.url_map and each of its methods."""
    found = []
    for rule in app.url_map.iter_rules():
        args = {name: SAMPLE_ARGS.get(type(converter).__name__.removesuffix("Converter").lower(),
                                      SAMPLE_ARGS["default"])
                for name, converter in rule._converters.items()}
        with app.test_request_context():
            from flask import url_for
            url = url_for(rule.endpoint, **args)
        found += [(rule.endpoint, method, url) for method in sorted(rule.methods)]
    return found


def test_the_walk_covers_the_areas(app):
    endpoints = {endpoint for endpoint, _, _ in every_request(app)}
    assert {"dossiers.index", "dossiers.approve_dossier", "capture.shoot", "capture.preview_stream",
            "search.results", "dossiers.page_thumbnail", "auth.logout"} <= endpoints


def _refused_properly(app, endpoint, answer) -> bool:
    if is_api(app.view_functions[endpoint]):
        return answer.status_code == 401 and answer.is_json
    return answer.status_code == 302 and urlsplit(answer.headers["Location"]).path == "/login"


def test_no_route_answers_without_a_session(app, dossier_code):
    client = app.test_client()
    token = csrf_token(client)  # an anonymous visitor's valid token: CSRF is not what stops it
    wrong = []
    for endpoint, method, url in every_request(app):
        if endpoint in OPEN:
            continue
        with client.open(url, method=method, data={"csrf_token": token},
                         headers={"X-CSRFToken": token}) as answer:
            if not _refused_properly(app, endpoint, answer):
                wrong.append(f"{method} {url} -> {answer.status_code}")
    assert wrong == []


def test_without_a_token_nothing_changing_succeeds_either(app, dossier_code):
    client = app.test_client()
    for endpoint, method, url in every_request(app):
        if endpoint in OPEN or method in ("GET", "HEAD", "OPTIONS"):
            continue
        with client.open(url, method=method) as answer:
            assert answer.status_code in (302, 400, 401), (method, url)


def test_the_language_switch_is_open_but_needs_the_csrf_token(app):
    client = app.test_client()
    refused = client.post("/language", data={"language": "en", "next": "/login"})
    assert refused.status_code == 400
    assert 'lang="vi"' in client.get("/login").get_data(as_text=True)
    switched = client.post("/language", data={"language": "en", "next": "/login",
                                              "csrf_token": csrf_token(client)})
    assert switched.status_code == 303 and switched.headers["Location"] == "/login"
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)
    # Open does not mean a way in: after switching, every other page still wants a login.
    assert urlsplit(client.get("/").headers["Location"]).path == "/login"


@pytest.mark.parametrize("path", ["/login", "/static/sohoa.css", "/static/sohoa.js",
                                  "/static/favicon.svg"])
def test_login_and_static_files_are_open(app, path):
    with app.test_client().get(path) as answer:
        assert answer.status_code == 200


def test_a_page_asked_for_comes_back_after_login(app, users):
    client = app.test_client()
    redirect = client.get("/search?q=abc")
    assert redirect.status_code == 302
    login_url = redirect.headers["Location"]
    answer = client.post(login_url, data={"username": "operator", "password": "mat-khau-thu-123",
                                          "csrf_token": csrf_token(client)})
    assert answer.headers["Location"] == "/search?q=abc"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_login_never_sends_the_browser_to_another_site(app, users, target):
    client = app.test_client()
    answer = client.post("/login", query_string={"next": target},
                         data={"username": "operator", "password": "mat-khau-thu-123",
                               "csrf_token": csrf_token(client)})
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
