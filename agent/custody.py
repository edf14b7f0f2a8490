"""Who keeps which copy of a package: the second copy until a receipt, retention after one."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from pathlib import Path
from typing import Any

from device.box import Box
from device.db import outbox, packages, records
from device.errors import StorageError
from device.files import atomic_output, sha256_file
from device.retention import delete_raw_captures

log = logging.getLogger(__name__)


def ensure_second_copy(box: Box, upload: dict[str, Any]) -> Path | None:
    """Copy the package to the second medium unless a verified copy is already there.

    Returns the copy's path, or None when no medium is configured or mounted (the health
    report then carries a warning). The copy is verified against the package's SHA-256."""
    folder = box.config.settings.agent.second_copy_dir
    if folder is None or not Path(folder).is_dir():
        return None
    target = Path(folder) / f"{upload['sha256'][:16]}-{Path(upload['local_path']).name}"
    if upload.get("second_copy_path") == str(target) and target.is_file() \
            and target.stat().st_size == upload["size"]:
        return target
    try:
        with Path(upload["local_path"]).open("rb") as source, atomic_output(target) as handle:
            shutil.copyfileobj(source, handle, 1 << 20)
    except OSError as exc:
        raise StorageError(f"second copy of {upload['package_id']} failed: {exc}",
                           message_vi="Không sao được gói sang ổ thứ hai.") from exc
    if sha256_file(target) != upload["sha256"]:
        target.unlink(missing_ok=True)
        raise StorageError(f"second copy of {upload['package_id']} does not match its SHA-256")
    outbox.record_second_copy(box.db, upload["id"], str(target))
    log.info("package %s: second copy at %s", upload["package_id"], target)
    return target


def keep_second_copies(box: Box) -> None:
    """A second copy of every package still without an accepted receipt, held ones included.
    Made before the hub is contacted: an offline box is exactly when the copy matters."""
    for upload in outbox.all_uploads(box.db):
        if upload["state"] == "accepted":
            continue
        try:
            ensure_second_copy(box, upload)
        except StorageError as exc:  # the package itself is safe on the box: say so, go on
            log.warning("package %s: %s", upload["package_id"], exc)


def drop_second_copy(box: Box, upload: dict[str, Any]) -> None:
    """An accepted, verified receipt ends the second copy's job: remove it."""
    current = outbox.upload_by_id(box.db, upload["id"])  # the copy may be newer than `upload`
    path = (current or upload).get("second_copy_path")
    if path and Path(path).is_file():
        Path(path).unlink()
        log.info("package %s: accepted; second copy %s removed", upload["package_id"], path)


def retention_due(upload: dict[str, Any], retention_days: float | None,
                  at: dt.datetime | None = None) -> bool:
    """Whether an upload's local package file may now be deleted: only with an accepted,
    verified receipt, and only `retention_days` after it was verified (None: never)."""
    if retention_days is None or upload["state"] != "accepted":
        return False
    receipt = upload.get("receipt") or {}
    if not upload.get("receipt_verified_at") or receipt.get("receipt", {}).get("verdict") != "accepted":
        return False
    verified = dt.datetime.fromisoformat(upload["receipt_verified_at"])
    moment = at or dt.datetime.now(dt.timezone.utc)
    return moment - verified >= dt.timedelta(days=retention_days)


def apply_retention(box: Box, at: dt.datetime | None = None) -> list[str]:
    """Delete the local package files whose retention is due, and the raw captures of the
    dossiers those packages hold when the package is of the dossier's current, accepted
    version (device.retention); returns the packages' SHA-256s."""
    days = box.config.settings.agent.retention_days
    removed, archived = [], set()
    for upload in outbox.all_uploads(box.db):
        if not retention_due(upload, days, at):
            continue
        dossier_id = _archived_dossier(box, upload["sha256"])
        if dossier_id is not None:
            archived.add(dossier_id)
        if upload["local_deleted_at"]:
            continue
        Path(upload["local_path"]).unlink(missing_ok=True)
        outbox.mark_local_deleted(box.db, upload["id"])
        log.info("package %s: local file deleted by retention (%s days after its receipt)",
                 upload["package_id"], days)
        removed.append(upload["sha256"])
    delete_raw_captures(box, archived, actor="agent")
    return removed


def _archived_dossier(box: Box, sha256: str) -> int | None:
    """The dossier an accepted package holds, when it holds the dossier as it is now (not
    reopened since: a new version may still need its originals)."""
    package = packages.package_by_sha256(box.db, sha256)
    if package is None:
        return None
    dossier = records.dossier_by_id(box.db, package["dossier_id"])
    if dossier is None or dossier["state"] != "accepted" or \
            dossier["version"] != package["dossier_version"]:
        return None
    return int(dossier["id"])
