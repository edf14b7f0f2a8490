"""Logins: Vietnamese refusals, the lockout after repeated failures, CSRF, cookie flags, the
generated secret key, and the audit trail naming the user."""

from __future__ import annotations

import pytest

from device.catalog.describe import dossier_list_json
from device.db.events import events_for
from device.errors import ConfigError
from tests.conftest import VALID_DOSSIER
from tests.web_ui.conftest import PASSWORD, log_in


def test_a_wrong_password_is_refused_in_vietnamese(app, users):
    client = app.test_client()
    answer = log_in(client, "operator", "not-the-password")
    assert answer.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu." in answer.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still not logged in


def test_an_unknown_user_gets_the_same_answer(app, users):
    answer = log_in(app.test_client(), "nobody", PASSWORD)
    assert answer.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu." in answer.get_data(as_text=True)


def test_repeated_failures_lock_the_name_out_even_with_the_right_password(app, users, box):
    attempts = box.config.settings.web.login_attempts
    client = app.test_client()
    for _ in range(attempts):
        assert log_in(client, "operator", "guess-guess-guess").status_code == 401
    locked = log_in(client, "operator", PASSWORD)
    assert locked.status_code == 429
    assert "Đăng nhập sai quá nhiều lần" in locked.get_data(as_text=True)
    assert client.get("/").status_code == 302
    # Another account from the same address is not locked by the first one's failures.
    assert log_in(app.test_client(), "reviewer", PASSWORD).status_code == 302


def test_the_lockout_ends_after_its_window():
    from web_ui.throttle import LoginThrottle

    now = [1000.0]
    throttle = LoginThrottle(3, 60.0, clock=lambda: now[0])
    for _ in range(3):
        throttle.failed("lan", "10.0.0.5")
    assert throttle.locked_for("lan", "10.0.0.5") == pytest.approx(60.0)
    assert throttle.locked_for("lan", "10.0.0.6") == 0.0
    now[0] += 61
    assert throttle.locked_for("lan", "10.0.0.5") == 0.0


def test_a_login_without_the_csrf_token_is_refused(app, users):
    client = app.test_client()
    answer = client.post("/login", data={"username": "operator", "password": PASSWORD})
    assert answer.status_code == 400
    assert "Biểu mẫu đã hết hạn hoặc không hợp lệ" in answer.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_a_post_without_the_csrf_token_changes_nothing(login, box):
    session = login("operator")
    answer = session.client.post("/dossiers/new", data=dict(VALID_DOSSIER, startDate="2001"))
    assert answer.status_code == 400
    assert dossier_list_json(box) == []
    wrong = session.client.post("/dossiers/new", data={**VALID_DOSSIER, "csrf_token": "forged"})
    assert wrong.status_code == 400 and dossier_list_json(box) == []


def test_a_json_request_without_the_csrf_header_is_refused(login):
    answer = login("operator").client.post("/capture/shoot", json={})
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "csrf"


def test_session_cookie_is_httponly_and_samesite_lax(app, users):
    client = app.test_client()
    answer = log_in(client, "operator")
    cookie = next(value for value in answer.headers.getlist("Set-Cookie")
                  if value.startswith("sohoa_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # web.secure_cookies is off by default (plain HTTP on the LAN)


def test_secure_cookies_follow_the_config(box, config_file, users):
    from device.config import load_config
    from web_ui.app import create_app

    config_file.write_text(config_file.read_text() + "\n[web]\nsecure_cookies = true\n")
    app = create_app(load_config(config_file, box.config.paths.data_dir, environ={}), testing=True)
    client = app.test_client()
    answer = log_in(client, "operator")
    cookie = next(value for value in answer.headers.getlist("Set-Cookie")
                  if value.startswith("sohoa_session="))
    assert "Secure" in cookie


def test_the_secret_key_is_the_one_init_generated(app, box):
    assert app.secret_key == (box.config.paths.secrets / "web_secret_key").read_text().strip()


def test_without_a_secret_key_the_app_does_not_start(box):
    from web_ui.app import create_app

    (box.config.paths.secrets / "web_secret_key").unlink()
    with pytest.raises(ConfigError) as raised:
        create_app(box.config)
    assert raised.value.exit_code == 78 and "sohoa init" in raised.value.message_vi


def test_login_and_logout_are_in_the_audit_trail(login, box):
    session = login("reviewer")
    answer = session.post("/logout")
    assert answer.status_code == 302
    assert session.client.get("/").status_code == 302
    actions = [(event["actor"], event["action"]) for event in events_for(box.db, "user", "reviewer")]
    assert ("web:reviewer", "user.login") in actions and ("web:reviewer", "user.logout") in actions


def test_pages_carry_the_security_headers(login):
    answer = login("operator").get("/")
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("change", ["password", "disable"])
def test_a_password_reset_or_a_disable_ends_that_users_sessions(login, change):
    # (A role change does not need to: the role is read again on every request, see
    # test_polish_admin_roles.py.)
    operator, admin = login("operator"), login("admin")
    assert operator.get("/").status_code == 200
    if change == "password":
        answer = admin.post("/users/operator/password", {"password": "mat-khau-moi-456"})
    else:
        answer = admin.post("/users/operator/active", {"active": "0"})
    assert answer.status_code == 303
    assert operator.get("/").status_code == 302  # back to the login page
    assert admin.get("/").status_code == 200  # the admin who did it stays logged in
    if change == "disable":  # enabled again: a new login is needed, the old session stays ended
        assert admin.post("/users/operator/active", {"active": "1"}).status_code == 303
        assert operator.get("/").status_code == 302
