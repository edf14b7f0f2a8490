"""The USB fallback: export waiting packages with a manifest, import the receipts brought back."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from agent.enrollment import pinned_key
from agent.errors import ReceiptRefused
from agent.sync import accept_receipt
from device.box import Box
from device.db import outbox
from device.db.timeutil import now
from device.errors import InputError, StorageError
from device.files import atomic_output, sha256_file

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT = "sohoa-usb-export/1"


def export_packages(box: Box, target: Path) -> dict[str, Any]:
    """Copy every package still without a receipt (held ones included) to `target`, each
    verified after the copy, then write `manifest.json` last: a partial copy has no manifest
    (an old one is removed first). Returns the manifest."""
    target = Path(target)
    try:
        target.mkdir(parents=True, exist_ok=True)
        (target / MANIFEST).unlink(missing_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot write to {target}: {exc.strerror}",
                           message_vi="Không ghi được vào ổ USB.") from exc
    entries = []
    for upload in outbox.unacknowledged_uploads(box.db):
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
    values = outbox.sync_values(box.db)
    manifest = {"format": FORMAT, "created_at": now(), "box_name": box.config.settings.box.name,
                "device_id": values.get("device_id"), "packages": entries}
    with atomic_output(target / MANIFEST) as handle:
        handle.write(json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
    log.info("exported %d packages to %s", len(entries), target)
    return manifest


def _copy(source: Path, copy: Path) -> None:
    try:
        with source.open("rb") as reader, atomic_output(copy) as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
    except OSError as exc:
        raise StorageError(f"cannot copy {source.name} to {copy.parent}: {exc.strerror}",
                           message_vi="Không sao được gói sang ổ USB.") from exc


def import_receipts(box: Box, folder: Path) -> dict[str, list[str]]:
    """Take the signed receipts in `folder/receipts/` (or `folder` itself): each verified with
    the pinned key and matched to a package of the outbox by SHA-256 and size."""
    folder = Path(folder)
    source = folder / "receipts" if (folder / "receipts").is_dir() else folder
    if not source.is_dir():
        raise InputError(f"{folder}: no such folder", message_vi="Không tìm thấy thư mục.")
    key = pinned_key(box)
    outcome: dict[str, list[str]] = {"accepted": [], "rejected": [], "refused": [], "unknown": []}
    for path in sorted(source.glob("*.json")):
        if path.name == MANIFEST:
            continue
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            log.warning("%s: not a readable receipt (%s)", path.name, exc)
            outcome["refused"].append(path.name)
            continue
        sha256 = (document.get("receipt") or {}).get("sha256") if isinstance(document, dict) else None
        upload = outbox.upload_by_sha256(box.db, sha256) if isinstance(sha256, str) else None
        if upload is None:
            outcome["unknown"].append(path.name)
            continue
        if upload["state"] in ("accepted", "rejected"):
            outcome[upload["state"]].append(path.name)
            continue
        try:
            verdict = accept_receipt(box, upload, document, key)
        except ReceiptRefused as exc:
            log.warning("%s: %s", path.name, exc)
            outcome["refused"].append(path.name)
            continue
        outcome[verdict].append(path.name)
    return outcome
