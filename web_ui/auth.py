"""Logins: Flask-Login on the box's users, the login rate limit, login/logout pages, and the
rule that every view but login, the language switch and static files needs a session."""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from typing import Any
from urllib.parse import urlsplit

from flask import (Blueprint, Flask, current_app, flash, redirect, render_template, request, session,
                   url_for)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from device.accounts import check_password
from device.db import transaction
from device.db.events import record_event
from device.db.users import user_by_name
from web_ui.throttle import LoginThrottle
from web_ui.web import box, json_error, t, wants_json

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

# Endpoints reachable without a session; everything else is refused before its view runs.
# The language switch is one of them so that the login page can offer it (it only sets the
# session's language, and CSRF still guards it). Browsers ask /favicon.ico on every page,
# the login page included: it points at the icon among the static files.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "auth.favicon", "language.choose", "static"})


class User(UserMixin):
    """A logged-in box user; the session stores "<id>:<username>:<nonce>" so a re-created
    account with the same name does not inherit an old session, and a new password or a
    disabled account ends that user's sessions (see `session_nonce`). The role is read
    again on every request, so a role change applies at once without ending them."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.user_id, self.username, self.role = int(row["id"]), row["username"], row["role"]
        self.display_name = row["display_name"] or row["username"]
        self.nonce = session_nonce(row)

    def get_id(self) -> str:
        return f"{self.user_id}:{self.username}:{self.nonce}"


def session_nonce(row: dict[str, Any]) -> str:
    """A keyed digest of what a session was granted on (password hash, session epoch, which
    a disable moves on): any change makes the sessions opened before it unknown to the user
    loader, and enabling the account again does not bring them back."""
    granted = f"{row['password_hash']}|{row['session_epoch']}|{int(row['active'])}".encode()
    return hmac.new(str(current_app.secret_key).encode(), granted, hashlib.sha256).hexdigest()[:32]


@bp.get("/favicon.ico")
def favicon() -> Any:
    return redirect(url_for("static", filename="favicon.svg"), 301)


def _load_user(session_id: str) -> User | None:
    user_id, _, rest = session_id.partition(":")
    username, _, nonce = rest.rpartition(":")
    row = user_by_name(box().db, username) if username else None
    if row is None or not row["active"] or str(row["id"]) != user_id:
        return None
    user = User(row)
    if not hmac.compare_digest(user.nonce, nonce):  # password or access changed since
        log.info("a session of %r ended: its password or access changed", username)
        return None
    return user


def _unauthorized() -> Any:
    view = current_app.view_functions.get(request.endpoint or "")
    if wants_json(view):
        return json_error(401, "unauthorized", "login required", t("login.required_api"))
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _require_login() -> Any:
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    return _unauthorized()


def init_app(app: Flask) -> None:
    """Flask-Login, the throttle and the login-everywhere rule on `app`."""
    manager = LoginManager(app)
    manager.user_loader(_load_user)
    manager.unauthorized_handler(_unauthorized)
    manager.session_protection = "basic"
    settings = app.extensions["sohoa_config"].settings.web
    app.extensions["sohoa_login_throttle"] = LoginThrottle(settings.login_attempts,
                                                           settings.lockout_minutes * 60)
    app.before_request(_require_login)


def _throttle() -> LoginThrottle:
    return current_app.extensions["sohoa_login_throttle"]


def safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, not `//host`) is followed after login."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target:
            return target
    return url_for("dossiers.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        return render_template("auth/login.html", error=None, username="")
    username = request.form.get("username", "").strip().lower()
    password = request.form.get("password", "")
    address = request.remote_addr or "-"
    wait_s = _throttle().locked_for(username, address)
    if wait_s > 0:
        log.warning("login for %r from %s refused: locked out for %.0f s", username, address, wait_s)
        error = t("login.locked", minutes=max(1, math.ceil(wait_s / 60)))
        return render_template("auth/login.html", error=error, username=username), 429
    row = check_password(box().db, username, password) if username and password else None
    if row is None:
        _throttle().failed(username, address)
        log.info("failed login for %r from %s", username, address)
        return render_template("auth/login.html", error=t("login.wrong"), username=username), 401
    _throttle().succeeded(username, address)
    chosen = session.get("language")  # picked on the login page: kept
    session.clear()  # a fresh session (and CSRF token) for the logged-in user
    if chosen:
        session["language"] = chosen
    session.permanent = True
    # Read again: the login may have stored a rehashed password, which the session's nonce follows.
    login_user(User(user_by_name(box().db, row["username"]) or row))
    with transaction(box().db):
        record_event(box().db, f"web:{username}", "user.login", "user", username, {"address": address})
    return redirect(safe_next(request.args.get("next")))


@bp.post("/logout")
def logout() -> Any:
    username = current_user.username
    with transaction(box().db):
        record_event(box().db, f"web:{username}", "user.logout", "user", username)
    logout_user()
    session.clear()
    flash(t("logout.done"), "info")
    return redirect(url_for("auth.login"))
