"""The sync page: the outbox, the hub's receipts (rejections with their reasons), the enrollment
and last contact, USB export (a worker job, shown as it runs), and the agent's bandwidth cap and
time windows."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from device.agent_settings import (effective_agent, overrides, reset_agent_overrides,
                                   save_agent_overrides)
from device.db import outbox
from device.db.packages import package_by_sha256
from device.errors import InputError, ValidationError
from device.usb_export import (PROC_MOUNTS, export_status, export_target, queue_export,
                               removable_media)
from web_ui.web import (ADMIN_ROLES, REVIEW_ROLES, actor, box, problems_text, role_required, t,
                        user_message)

log = logging.getLogger(__name__)

bp = Blueprint("sync", __name__, url_prefix="/sync")

STATE_TEXTS = {"queued": "sync.state.queued", "uploading": "sync.state.uploading",
               "uploaded": "sync.state.uploaded", "accepted": "sync.state.accepted",
               "rejected": "sync.state.rejected", "held": "sync.state.held"}
# Tests point this at a mount table of their own (no USB drive is plugged into a test machine).
MOUNT_TABLE_KEY = "SOHOA_MOUNT_TABLE"


def _mount_table() -> Path:
    return Path(current_app.config.get(MOUNT_TABLE_KEY, PROC_MOUNTS))


def _media() -> list[Path]:
    return removable_media(box().config.settings.agent.usb_mount_roots, _mount_table())


def _upload_view(upload: dict[str, Any]) -> dict[str, Any]:
    package = package_by_sha256(box().db, upload["sha256"])
    document = upload["receipt"] or {}
    receipt = document.get("receipt") if isinstance(document.get("receipt"), dict) else None
    size = upload["size"] or 0
    return {**upload, "version": package["dossier_version"] if package else None,
            "state_label": t(STATE_TEXTS[upload["state"]]),
            "percent": int(100 * upload["upload_offset"] / size) if size else 100,
            "receipt_body": receipt,
            "reasons": [str(reason) for reason in (receipt or {}).get("reasons") or []]}


def _export_view(medium: Path) -> dict[str, Any] | None:
    """The last export to a plugged drive, in words: queued, running (packages copied), done
    (the manifest) or failed (the worker's reason, Vietnamese first)."""
    status = export_status(box(), medium)
    if status is None:
        return None
    state = status["state"]
    key = "running_start" if state == "running" and status["total"] is None else state
    text = t(f"sync.usb_state.{key}", medium=status["medium"], by=status["by"] or "?",
             done=status["done"], total=status["total"], n=status["packages"],
             manifest=status["manifest"], reason=status["error"])
    return {**status, "text": text}


def _settings_view() -> dict[str, Any]:
    effective = effective_agent(box())
    return {"bandwidth_kb": effective.bandwidth_bytes_per_second // 1000,
            "windows": effective.time_windows, "overrides": overrides(box()),
            "interval": int(effective.interval_seconds)}


@bp.get("")
def index() -> Any:
    db = box().db
    uploads = [_upload_view(upload) for upload in outbox.all_uploads(db)]
    values = outbox.sync_values(db)
    enrollment = None
    if "hub_public_key" in values:
        enrollment = {"hub": values.get("hub_id", ""), "device": values.get("device_id", ""),
                      "url": box().config.settings.agent.hub_url or values.get("hub_url", "")}
    media = _media()
    exports = [view for view in (_export_view(medium) for medium in media) if view]
    return render_template(
        "sync/index.html", uploads=uploads, figures=outbox.outbox_figures(db),
        receipts=[upload for upload in uploads if upload["receipt_body"]],
        enrollment=enrollment, contact=values, media=media, exports=exports,
        settings=_settings_view(),
        can_export=current_user.role in REVIEW_ROLES, can_configure=current_user.role == "admin")


@bp.post("/export")
@role_required(REVIEW_ROLES)
def usb_export() -> Any:
    """Queue the export for the worker and answer at once: copying gigabytes to a slow stick
    takes longer than a browser waits. The page then shows the job's state."""
    try:
        target = export_target(box().config.settings.agent.usb_mount_roots,
                               request.form.get("medium", ""), _mount_table())
        medium = target.parent  # export_target gives the folder on the drive; the job names the drive
        queue_export(box(), medium, actor=actor())
    except InputError as exc:
        log.warning("USB export by %s refused: %s", actor(), exc)
        flash(user_message(exc), "error")
        return redirect(url_for("sync.index", _anchor="sync-usb"), 303)
    flash(t("sync.usb_queued", medium=str(medium)), "info")
    return redirect(url_for("sync.index", _anchor="sync-usb"), 303)


@bp.post("/settings")
@role_required(ADMIN_ROLES)
def save_settings() -> Any:
    try:
        changes = save_agent_overrides(box(), bandwidth_kb=request.form.get("bandwidth_kb", ""),
                                       windows=request.form.get("time_windows", ""), actor=actor())
    except ValidationError as exc:
        flash(t("sync.settings_fix", problems=problems_text(exc.problems)), "error")
        return redirect(url_for("sync.index", _anchor="sync-settings"), 303)
    flash(t("sync.settings_saved" if changes else "sync.settings_unchanged"), "info")
    return redirect(url_for("sync.index", _anchor="sync-settings"), 303)


@bp.post("/settings/reset")
@role_required(ADMIN_ROLES)
def reset_settings() -> Any:
    reset_agent_overrides(box(), actor=actor())
    flash(t("sync.settings_reset_done"), "info")
    return redirect(url_for("sync.index", _anchor="sync-settings"), 303)
