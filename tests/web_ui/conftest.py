"""The web UI on a real box in tmp_path: the app, accounts of each role, logged-in clients."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

PASSWORD = "mat-khau-thu-123"
ROLES = ("operator", "reviewer", "admin")
_TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


@pytest.fixture
def app(box):
    from web_ui.app import create_app

    return create_app(box.config, testing=True)


@pytest.fixture
def users(box) -> dict[str, str]:
    """One account per role (user name = role) with PASSWORD."""
    from device.accounts import create_user

    for role in ROLES:
        if role != "admin":  # `sohoa init` made the admin; give it a known password
            create_user(box.db, role, role, PASSWORD, actor="test", display_name=f"Chị {role}")
    from device.accounts import reset_password

    reset_password(box.db, "admin", PASSWORD, actor="test")
    return {role: role for role in ROLES}


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token a page of `path` carries (in its <meta name="csrf-token">)."""
    page = client.get(path)
    found = _TOKEN.search(page.get_data(as_text=True))
    assert found, f"{path} carries no CSRF token"
    return found.group(1)


def log_in(client: FlaskClient, username: str, password: str = PASSWORD):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(client)})


@dataclass
class Session:
    """A logged-in client and its CSRF token."""

    client: FlaskClient
    token: str

    def post(self, path: str, data: dict | None = None, **kwargs):
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})}, **kwargs)

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)


@pytest.fixture
def login(app, users):
    """login(role) -> Session for that role's account."""
    def open_session(role: str) -> Session:
        client = app.test_client()
        answer = log_in(client, users[role])
        assert answer.status_code == 302, answer.get_data(as_text=True)
        return Session(client, csrf_token(client, "/"))
    return open_session
