"""The archive staff's dashboard: login (CSRF-protected), devices, packages, health."""

from __future__ import annotations

import functools
import hmac
import logging
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, render_template, request, session, url_for

from device.errors import NotFoundError
from hub import catalog
from hub.devices import revoke
from hub.staff import check_staff_password
from hub.web import db

log = logging.getLogger(__name__)

bp = Blueprint("dashboard", __name__, url_prefix="/", template_folder="templates")


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "staff": session.get("staff")}


@bp.before_request
def _check_csrf() -> None:
    """Every POST of the dashboard carries the session's token (login included)."""
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        expected = session.get("csrf", "")
        if not expected or not hmac.compare_digest(sent, expected):
            log.warning("dashboard POST %s refused: CSRF token missing or wrong", request.path)
            abort(400, description="CSRF token missing or wrong")


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not session.get("staff"):
            return redirect(url_for("dashboard.login", next=request.full_path))
        return view(*args, **kwargs)
    return wrapper


@bp.route("login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        user = check_staff_password(db(), request.form.get("username", "").strip(),
                                    request.form.get("password", ""))
        if user is not None:
            session.clear()
            session.permanent = True
            session["staff"] = user["username"]
            session["csrf"] = secrets.token_urlsafe(32)
            log.info("staff %s logged in", user["username"])
            return redirect(_safe_next(request.args.get("next")))
        error = "Sai tên đăng nhập hoặc mật khẩu."
    return render_template("dashboard/login.html", error=error), 401 if error else 200


@bp.post("logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("dashboard.login"))


@bp.get("")
@login_required
def index() -> Any:
    return render_template("dashboard/index.html", devices=catalog.device_summaries(db()))


@bp.get("devices/<device_id>")
@login_required
def device_page(device_id: str) -> Any:
    found = catalog.device(db(), device_id)
    if found is None:
        abort(404)
    return render_template("dashboard/device.html", device=found,
                           packages=catalog.packages(db(), device_id),
                           report=catalog.latest_report(db(), device_id))


@bp.post("devices/<device_id>/revoke")
@login_required
def revoke_device(device_id: str) -> Any:
    try:
        revoke(db(), device_id, actor=f"staff:{session['staff']}")
    except NotFoundError:
        abort(404)
    return redirect(url_for("dashboard.device_page", device_id=device_id))


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host): no open redirect after login."""
    if target:
        parts = urlsplit(target)
        if (not parts.scheme and not parts.netloc and target.startswith("/")
                and not target.startswith(("//", "/\\"))):
            return target
    return url_for("dashboard.index")
