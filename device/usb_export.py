"""USB export: waiting packages copied to a removable drive with a manifest written last, which
mounted drives may receive them, and the export as a worker job (queued by the web UI)."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from device.box import Box
from device.db import outbox, transaction
from device.db.events import events_for, record_event
from device.db.jobs import USB_EXPORT, enqueue, job_by_subject
from device.db.timeutil import now
from device.errors import InputError, StorageError
from device.files import atomic_output, sha256_file

log = logging.getLogger(__name__)

PROC_MOUNTS = Path("/proc/self/mounts")
# File systems a USB drive or SD card carries; tmpfs, overlays and network mounts are not media.
REMOVABLE_TYPES = frozenset({"vfat", "exfat", "ntfs", "ntfs3", "fuseblk", "ext2", "ext3", "ext4",
                             "btrfs", "f2fs", "hfsplus", "udf"})
EXPORT_FOLDER = "sohoa-export"
_OCTAL = re.compile(r"\\([0-7]{3})")

MANIFEST = "manifest.json"
FORMAT = "sohoa-usb-export/1"
# One attempt: a failed copy (drive pulled out, full, broken) is shown to the clerk at once,
# who decides whether to try again; a silent retry minutes later could write to another drive.
EXPORT_ATTEMPTS = 1
_EVENT_LIMIT = 100_000  # the events of one drive's folder read for its status (oldest first)

Progress = Callable[[int, int, dict[str, Any]], None]


def export_packages(box: Box, target: Path, *, actor: str = "agent",
                    progress: Progress | None = None) -> dict[str, Any]:
    """Copy every package still without a receipt (held ones included) to `target`, each
    verified after the copy, then write `manifest.json` last: a partial copy has no manifest
    (an old one is removed first). Returns the manifest; the export is in the audit trail.
    `progress(done, total, entry)` is called after each package is on the drive."""
    target = Path(target)
    _refuse_symlinked_manifest(target)
    try:
        target.mkdir(parents=True, exist_ok=True)
        (target / MANIFEST).unlink(missing_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot write to {target}: {exc.strerror}",
                           message_vi="Không ghi được vào ổ USB.") from exc
    entries = []
    uploads = outbox.unacknowledged_uploads(box.db)
    for upload in uploads:
        source = Path(upload["local_path"])
        if not source.is_file():
            log.warning("package %s: local file %s is missing; not exported",
                        upload["package_id"], source)
            continue
        name = f"{upload['sha256'][:16]}-{source.name}"
        copy = target / name
        if not (copy.is_file() and copy.stat().st_size == upload["size"]
                and sha256_file(copy) == upload["sha256"]):
            _copy(source, copy)
            if sha256_file(copy) != upload["sha256"]:
                raise StorageError(f"{copy}: the copy does not match SHA-256 {upload['sha256']}",
                                   message_vi="Bản sao trên USB bị lỗi; hãy thử ổ khác.")
        entries.append({"name": name, "size": upload["size"], "sha256": upload["sha256"],
                        "package_id": upload["package_id"], "file_code": upload["file_code"]})
        if progress is not None:
            progress(len(entries), len(uploads), entries[-1])
    values = outbox.sync_values(box.db)
    manifest = {"format": FORMAT, "created_at": now(), "box_name": box.config.settings.box.name,
                "device_id": values.get("device_id"), "packages": entries}
    with atomic_output(target / MANIFEST) as handle:
        handle.write(json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
    with transaction(box.db):
        record_event(box.db, actor, "usb.export", "usb", str(target),
                     {"packages": [entry["sha256"] for entry in entries]})
    log.info("exported %d packages to %s", len(entries), target)
    return manifest


def _on_medium(medium: Path, folder: Path) -> Path:
    """`folder` if it stays on `medium`: a drive can carry a `sohoa-export` symlink (made on
    another computer) pointing into the box's own disk, which an export must not write to."""
    if folder.is_symlink() or not folder.resolve().is_relative_to(medium.resolve()):
        raise InputError(f"{folder} is a link that leaves the drive {medium}; nothing was exported",
                         message_vi=f"Thư mục {EXPORT_FOLDER} trên ổ USB là một liên kết trỏ ra "
                                    "ngoài ổ; chưa chép gì. Hãy xóa nó hoặc dùng ổ khác.",
                         message_en=f"The {EXPORT_FOLDER} folder on the USB drive is a link "
                                    "leading off the drive; nothing was copied. Delete it or use "
                                    "another drive.")
    _refuse_symlinked_manifest(folder)
    return folder


def _refuse_symlinked_manifest(folder: Path) -> None:
    """InputError when the folder's manifest is a symlink (it must be a file of the export)."""
    if (folder / MANIFEST).is_symlink():
        raise InputError(f"{folder / MANIFEST} is a symlink; nothing was exported",
                         message_vi="Tệp manifest.json trên ổ USB là một liên kết; chưa chép gì. "
                                    "Hãy xóa nó hoặc dùng ổ khác.",
                         message_en="manifest.json on the USB drive is a link; nothing was "
                                    "copied. Delete it or use another drive.")


def _copy(source: Path, copy: Path) -> None:
    try:
        with source.open("rb") as reader, atomic_output(copy) as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
    except OSError as exc:
        raise StorageError(f"cannot copy {source.name} to {copy.parent}: {exc.strerror}",
                           message_vi="Không sao được gói sang ổ USB.") from exc


def _unescape(field: str) -> str:
    """A mount table field with the kernel's octal escapes (a space is written \\040) decoded."""
    return _OCTAL.sub(lambda match: chr(int(match.group(1), 8)), field)


def removable_media(roots: Iterable[Path], mount_table: Path = PROC_MOUNTS) -> list[Path]:
    """Writable mounts of a removable-media file system strictly under one of `roots` (where
    the desktop or udisks mounts a plugged drive: /media/<user>/<label>, /run/media/…)."""
    try:
        lines = mount_table.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        log.warning("cannot read the mount table %s: %s", mount_table, exc.strerror)
        return []
    roots = [Path(root) for root in roots]
    found = []
    for line in lines:
        fields = line.split()
        if len(fields) < 4 or fields[2] not in REMOVABLE_TYPES or "ro" in fields[3].split(","):
            continue
        point = Path(_unescape(fields[1]))
        if any(root in point.parents for root in roots) and point.is_dir() \
                and os.access(point, os.W_OK) and point not in found:
            found.append(point)
    return sorted(found)


def export_target(roots: Iterable[Path], chosen: str, mount_table: Path = PROC_MOUNTS) -> Path:
    """The export folder on the medium `chosen` among removable_media(); InputError, with a
    Vietnamese message, when no drive is plugged in or `chosen` is not one of them."""
    media = removable_media(roots, mount_table)
    if not media:
        raise InputError("no removable drive is mounted under the configured mount roots",
                         message_vi="Không thấy ổ USB nào. Hãy cắm ổ USB vào hộp, đợi vài giây "
                                    "rồi tải lại trang.")
    for medium in media:
        if str(medium) == chosen:
            return _on_medium(medium, medium / EXPORT_FOLDER)
    raise InputError(f"{chosen!r} is not a mounted removable drive",
                     message_vi="Ổ USB đã chọn không còn được gắn. Hãy tải lại trang và chọn lại.")


def export_subject(medium: Path) -> str:
    """An export job's subject: the drive's mount point."""
    return f"usb:{medium}"


def queue_export(box: Box, medium: Path, *, actor: str) -> int:
    """Queue the export to `medium` (a mount point from export_target's checks) for the worker;
    InputError while an export to that drive is still queued or running. Returns the job id."""
    subject = export_subject(medium)
    with transaction(box.db):
        job = job_by_subject(box.db, USB_EXPORT, subject)
        if job is not None and job["state"] in ("queued", "running"):
            raise InputError(f"an export to {medium} is already {job['state']}",
                             message_vi="Đang chép ra ổ USB này; hãy đợi xong rồi mới chép lại.",
                             message_en="An export to this USB drive is under way; wait for it "
                                        "to end before exporting again.")
        job_id = enqueue(box.db, USB_EXPORT, subject, EXPORT_ATTEMPTS)
        record_event(box.db, actor, "usb.export_queued", "usb", str(medium / EXPORT_FOLDER),
                     {"job": job_id})
    log.info("USB export to %s queued by %s (job %d)", medium, actor, job_id)
    return job_id


def run_export_job(box: Box, subject: str, mount_table: Path = PROC_MOUNTS) -> str:
    """The worker's side of an export job: the drive checked again (it may have been pulled out
    or swapped since it was queued), the packages copied with a `usb.export_copied` event each,
    in the name of whoever queued it. Returns the manifest's path."""
    medium = subject.removeprefix("usb:")
    target = export_target(box.config.settings.agent.usb_mount_roots, medium, mount_table)
    queued = [event for event in events_for(box.db, "usb", str(target), limit=_EVENT_LIMIT)
              if event["action"] == "usb.export_queued"]
    actor = queued[-1]["actor"] if queued else "sohoa-worker"

    def copied(done: int, total: int, entry: dict[str, Any]) -> None:
        with transaction(box.db):
            record_event(box.db, actor, "usb.export_copied", "usb", str(target),
                         {"done": done, "total": total, "sha256": entry["sha256"]})

    export_packages(box, target, actor=actor, progress=copied)
    return str(target / MANIFEST)


def export_status(box: Box, medium: Path) -> dict[str, Any] | None:
    """The last export to `medium` as the sync page shows it: state (queued, running, done,
    failed), who asked, packages copied so far, the manifest (done) or the reason (failed);
    None if none was ever queued."""
    job = job_by_subject(box.db, USB_EXPORT, export_subject(medium))
    if job is None:
        return None
    target = medium / EXPORT_FOLDER
    events = events_for(box.db, "usb", str(target), limit=_EVENT_LIMIT)
    starts = [i for i, event in enumerate(events) if event["action"] == "usb.export_queued"]
    events = events[starts[-1]:] if starts else events
    copied = [event["details"] for event in events if event["action"] == "usb.export_copied"]
    done = [event for event in events if event["action"] == "usb.export"]
    return {"state": job["state"], "medium": str(medium), "job": job["id"],
            "by": events[0]["actor"] if starts else "", "error": job["last_error"] or "",
            "done": copied[-1]["done"] if copied else 0,
            "total": copied[-1]["total"] if copied else None,
            "packages": len(done[-1]["details"]["packages"]) if done else len(copied),
            "manifest": str(target / MANIFEST) if job["state"] == "done" else ""}
