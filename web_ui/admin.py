"""The device page (disk, temperature, versions, worker queue, capture service), the users page
(admin: add, change a role, reset a password, disable and enable) and the audit log (newest first, filtered)."""

from __future__ import annotations

import logging
import math
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from device.accounts import (MIN_PASSWORD, create_user, reset_password, set_user_active,
                             set_user_role)
from device.capture.client import CaptureClient, socket_path
from device.db import outbox
from device.db.events import event_actors, events_page
from device.db.jobs import job_counts
from device.db.records import dossier_by_code
from device.db.users import ROLES, all_users
from device.errors import InputError, NotFoundError, StateError
from device.machine import cpu_temperature, disk_space, versions
from web_ui.web import ADMIN_ROLES, REVIEW_ROLES, actor, box, config, role_required, t, user_message

log = logging.getLogger(__name__)

bp = Blueprint("admin", __name__)

AUDIT_PAGE = 50


def _capture_running() -> bool:
    with CaptureClient(socket_path(config()), timeout=2.0) as client:
        return client.is_serving()


@bp.get("/device")
def device() -> Any:
    data_dir = box().config.paths.data_dir
    disk = disk_space(data_dir)
    floor = box().config.settings.storage.min_free_mb << 20
    temperature = cpu_temperature()
    jobs = job_counts(box().db)
    return render_template(
        "admin/device.html", disk=disk, temperature=temperature, versions=versions(),
        percent_free=round(100 * disk["free"] / disk["total"]) if disk["total"] else 0,
        disk_low=disk["free"] < max(2 * floor, disk["total"] // 20), jobs=jobs,
        queue_depth=jobs.get("queued", 0) + jobs.get("running", 0),
        capture_running=_capture_running(), outbox=outbox.outbox_figures(box().db),
        can_manage=current_user.role == "admin", can_audit=current_user.role in REVIEW_ROLES)


@bp.get("/users")
@role_required(ADMIN_ROLES)
def users() -> Any:
    return render_template("admin/users.html", users=all_users(box().db), roles=ROLES,
                           min_password=MIN_PASSWORD, form={})


@bp.post("/users")
@role_required(ADMIN_ROLES)
def add_user() -> Any:
    form = {key: request.form.get(key, "").strip() for key in ("username", "display_name", "role")}
    username = form["username"].lower()
    try:
        create_user(box().db, username, form["role"], request.form.get("password", ""),
                    actor=actor(), display_name=form["display_name"][:100])
    except InputError as exc:
        flash(user_message(exc), "error")
        return render_template("admin/users.html", users=all_users(box().db), roles=ROLES,
                               min_password=MIN_PASSWORD, form=form), 400
    flash(t("admin.user_created", username=username), "info")
    return redirect(url_for("admin.users"), 303)


@bp.post("/users/<username>/password")
@role_required(ADMIN_ROLES)
def user_password(username: str) -> Any:
    try:
        reset_password(box().db, username, request.form.get("password", ""), actor=actor())
    except (InputError, NotFoundError) as exc:
        flash(user_message(exc), "error")
        return redirect(url_for("admin.users"), 303)
    flash(t("admin.password_reset", username=username), "info")
    return redirect(url_for("admin.users"), 303)


@bp.post("/users/<username>/role")
@role_required(ADMIN_ROLES)
def user_role(username: str) -> Any:
    role = request.form.get("role", "")
    try:
        set_user_role(box().db, username, role, actor=actor())
    except (InputError, NotFoundError, StateError) as exc:
        flash(user_message(exc), "error")
        return redirect(url_for("admin.users"), 303)
    flash(t("admin.role_changed", username=username, role=t("role." + role)), "info")
    return redirect(url_for("admin.users"), 303)


@bp.post("/users/<username>/active")
@role_required(ADMIN_ROLES)
def user_active(username: str) -> Any:
    active = request.form.get("active") == "1"
    if not active and username == current_user.username:
        flash(t("admin.not_yourself"), "error")
        return redirect(url_for("admin.users"), 303)
    try:
        set_user_active(box().db, username, active, actor=actor())
    except (NotFoundError, StateError) as exc:
        flash(user_message(exc), "error")
        return redirect(url_for("admin.users"), 303)
    flash(t("admin.user_enabled" if active else "admin.user_disabled", username=username), "info")
    return redirect(url_for("admin.users"), 303)


def _audit_filters() -> tuple[str, str, int | None, str | None]:
    """The actor and dossier code asked for, the dossier's id, and a message if it is unknown."""
    who = request.args.get("actor", "").strip()
    code = request.args.get("dossier", "").strip()
    dossier_id, problem = None, None
    if code:
        dossier = dossier_by_code(box().db, code)
        if dossier is None:
            problem = t("admin.no_dossier", code=code)
        else:
            dossier_id = dossier["id"]
    return who, code, dossier_id, problem


@bp.get("/audit")
@role_required(REVIEW_ROLES)
def audit() -> Any:
    who, code, dossier_id, problem = _audit_filters()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    events, total = [], 0
    if problem is None:
        events, total = events_page(box().db, actor=who or None, dossier_id=dossier_id,
                                    offset=(page - 1) * AUDIT_PAGE, limit=AUDIT_PAGE)
    pages = max(1, math.ceil(total / AUDIT_PAGE))
    return render_template("admin/audit.html", events=events, total=total, page=page,
                           pages=pages, actors=event_actors(box().db), who=who, code=code,
                           problem=problem)
