"""The USB fallback: the receipts brought back on a drive (the export is device/usb_export.py)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from agent.enrollment import pinned_key
from agent.errors import ReceiptRefused
from agent.sync import accept_receipt
from device.box import Box
from device.db import outbox
from device.errors import InputError
from device.usb_export import FORMAT, MANIFEST, export_packages

__all__ = ["FORMAT", "MANIFEST", "export_packages", "import_receipts"]

log = logging.getLogger(__name__)


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
