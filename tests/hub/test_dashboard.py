"""The staff dashboard: login required, CSRF on every POST, a device's packages and reasons shown."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.hub.conftest import upload_whole, zip_package

PASSWORD = "mat-khau-rat-dai"


@pytest.fixture
def staff(running_hub) -> str:
    from hub.staff import add_staff

    db = running_hub.hub.catalog()
    try:
        add_staff(db, "thu.nguyen", PASSWORD, actor="test")
    finally:
        db.close()
    return "thu.nguyen"


def _csrf(page: httpx.Response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    token = _csrf(client.get("/login"))
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})


def test_every_page_redirects_to_the_login_without_a_session(running_hub, device):
    with httpx.Client(base_url=running_hub.url) as browser:
        for path in ("/", f"/devices/{device['device_id']}"):
            answer = browser.get(path)
            assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_after_login_a_device_page_shows_its_packages_and_rejection_reasons(running_hub, device,
                                                                             staff):
    with running_hub.client(device["token"]) as client:
        upload_whole(client, zip_package({"p/../x": b"1"}), package_id="goi-bi-loi")
        client.post("/api/v1/report", json={"health": {"cpu_temp_c": 58}, "dossiers": []})
    with httpx.Client(base_url=running_hub.url) as browser:
        assert _login(browser, staff, PASSWORD).status_code == 302
        index = browser.get("/")
        assert index.status_code == 200 and device["device_id"] in index.text
        page = browser.get(f"/devices/{device['device_id']}")
        assert page.status_code == 200
        assert "goi-bi-loi" in page.text and "zip.unsafe_path" in page.text
        assert "bị từ chối" in page.text and "cpu_temp_c" in page.text


def test_a_wrong_password_is_refused(running_hub, staff):
    with httpx.Client(base_url=running_hub.url) as browser:
        answer = _login(browser, staff, "not-the-password")
        assert answer.status_code == 401
        assert browser.get("/").status_code == 302


def test_a_post_without_the_csrf_token_is_refused(running_hub, device, staff):
    with httpx.Client(base_url=running_hub.url) as browser:
        browser.get("/login")
        answer = browser.post("/login", data={"username": staff, "password": PASSWORD})
        assert answer.status_code == 400
        assert browser.get("/").status_code == 302  # not logged in
        _login(browser, staff, PASSWORD)
        revoke = browser.post(f"/devices/{device['device_id']}/revoke",
                              data={"csrf_token": "forged"})
        assert revoke.status_code == 400
    with running_hub.client(device["token"]) as client:
        assert client.get(f"/api/v1/packages/{'a' * 64}").status_code == 404  # still enrolled


def test_revoking_from_the_dashboard_with_the_token_locks_the_device_out(running_hub, device,
                                                                         staff):
    with httpx.Client(base_url=running_hub.url) as browser:
        _login(browser, staff, PASSWORD)
        page = browser.get(f"/devices/{device['device_id']}")
        answer = browser.post(f"/devices/{device['device_id']}/revoke",
                              data={"csrf_token": _csrf(page)})
        assert answer.status_code == 302
    with running_hub.client(device["token"]) as client:
        assert client.get(f"/api/v1/packages/{'a' * 64}").status_code == 401


def test_login_does_not_redirect_off_site(running_hub, staff):
    with httpx.Client(base_url=running_hub.url) as browser:
        token = _csrf(browser.get("/login"))
        answer = browser.post("/login?next=//evil.example/x", data={
            "username": staff, "password": PASSWORD, "csrf_token": token})
        assert answer.headers["Location"] == "/"


@pytest.mark.parametrize("secure", [False, True])
def test_the_session_cookie_is_secure_when_the_config_says_the_hub_is_served_over_https(
        tmp_path, secure):
    import threading

    from device.config import load_config
    from hub.app import create_app
    from hub.context import Hub
    from hub.serve import make_server
    from tests.hub.conftest import HUB_CONFIG, stop_server

    path = tmp_path / "hub.toml"
    path.write_text(HUB_CONFIG + f"secure_cookies = {str(secure).lower()}\n", encoding="utf-8")
    config = load_config(path, tmp_path / "hubdata", environ={})
    hub = Hub.open(config)
    server = make_server(create_app(config, hub=hub), hub, "127.0.0.1:0")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        page = httpx.get(f"http://127.0.0.1:{server.effective_port}/login")
    finally:
        stop_server(server, thread)
    [cookie] = [c for c in page.headers.get_list("set-cookie") if c.startswith("sohoa_hub_session=")]
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert ("secure" in attributes) is secure and "httponly" in attributes
