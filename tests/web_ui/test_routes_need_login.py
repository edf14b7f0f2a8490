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


CHANGING = ("POST", "PUT", "PATCH", "DELETE")
# What a form of each kind would post: with the token, most of these would change something.
FORM = {"username": "moi", "display_name": "Người mới", "role": "reviewer", "password":
        "mat-khau-moi-999", "active": "0", "language": "en", "next": "/", "degrees": "90",
        "position": "1", "text": "sửa", "reason": "thiếu trang", "bandwidth_kb": "5",
        "time_windows": "12:00-13:00", "medium": "/media/x", "title": "Hồ sơ mới"}


def changing_requests(app, values: dict[str, object]):
    """(method, url) for every state-changing rule, its URL parameters filled from `values`."""
    found = []
    for rule in app.url_map.iter_rules():
        methods = sorted(set(rule.methods) & set(CHANGING))
        if not methods:
            continue
        with app.test_request_context():
            from flask import url_for
            url = url_for(rule.endpoint, **{name: values[name] for name in rule.arguments})
        found += [(method, url) for method in methods]
    return found


def test_without_a_token_no_state_changing_route_works_even_for_a_logged_in_admin(
        app, box, login, dossier_code, page_png):
    from device.intake import import_files

    import_files(box, dossier_code, [page_png, page_png], actor="test")
    page_id = box.db.conn.execute("SELECT min(id) FROM pages").fetchone()[0]
    values = {"code": dossier_code, "username": "operator", "page_id": page_id, "seq": 1, "n": 1,
              "deleted_id": 1}
    admin = login("admin")
    events = box.db.conn.execute("SELECT count(*) FROM events").fetchone()[0]
    requests = changing_requests(app, values)
    assert len(requests) >= 30  # every area's actions, not a few
    wrong = []
    for method, url in requests:
        for body in ({"data": FORM}, {"json": FORM}):
            with admin.client.open(url, method=method, **body) as answer:
                if answer.status_code != 400:
                    wrong.append(f"{method} {url} -> {answer.status_code}")
    assert wrong == []
    assert box.db.conn.execute("SELECT count(*) FROM events").fetchone()[0] == events
    assert admin.get("/").status_code == 200  # still logged in: not even logout went through


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
