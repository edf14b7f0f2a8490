"""`sohoa hub import DIR`: packages carried on a USB drive, taken in as if uploaded.

The box's `sohoa export --to DIR` writes the packages and then `manifest.json` (format
`sohoa-usb-export/1`: `device_id`, `box_name`, `packages: [{name, size, sha256, package_id}]`).
The staff name the device the drive came from (`--device NAME`): it must be enrolled here and
not revoked, and the manifest must name it too; otherwise nothing is imported.
Each listed file whose size and SHA-256 match is validated and stored like an upload, and its
signed receipt is written to `DIR/receipts/<sha256>.json`; a missing or damaged file (a partial
copy) is reported and not taken in.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from device.db.connection import Database
from device.errors import InputError, IntegrityError, NotFoundError, StateError, StorageError
from device.files import atomic_output, sha256_file
from hub import catalog
from hub.context import Hub
from hub.intake import take_in

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass
class ImportOutcome:
    """What happened to each manifest entry, by file name."""

    accepted: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)  # missing, wrong size or wrong SHA-256

    def as_dict(self) -> dict[str, list[str]]:
        return {"accepted": self.accepted, "rejected": self.rejected,
                "incomplete": self.incomplete}


def read_manifest(folder: Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{folder}: no {MANIFEST}; the copy is incomplete or not an export",
                         message_vi="Không có manifest.json: bản sao chưa đầy đủ") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable manifest ({exc})",
                         message_vi="manifest.json bị hỏng") from None
    entries = manifest.get("packages") if isinstance(manifest, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InputError(f"{path}: expected an object with a 'packages' list",
                         message_vi="manifest.json không đúng định dạng")
    return manifest


def import_folder(hub: Hub, db: Database, folder: Path, device_id: str) -> ImportOutcome:
    """Take in every complete package listed in `folder`'s manifest as sent by `device_id`
    (named by the staff, see bound_device); receipts go to folder/receipts/."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    bound_device(db, manifest, device_id)
    outcome = ImportOutcome()
    for entry in manifest["packages"]:
        name = str(entry.get("name", ""))
        problem = _entry_problem(folder, entry)
        if problem:
            log.warning("USB import %s: %s: %s; not imported", folder, name, problem)
            outcome.incomplete.append(f"{name}: {problem}")
            continue
        staged = _stage(hub, folder / name)
        try:
            intake = take_in(hub, db, staged, sha256=entry["sha256"],
                             package_id=str(entry.get("package_id") or ""),
                             device_id=device_id, source="usb")
        except IntegrityError as exc:  # the file changed on the drive after it was checked
            outcome.incomplete.append(f"{name}: {exc.message}")
            continue
        _write_receipt(folder, entry["sha256"], intake.receipt)
        (outcome.accepted if intake.verdict == "accepted" else outcome.rejected).append(name)
    return outcome


def bound_device(db: Database, manifest: dict[str, Any], device_id: str) -> str:
    """The device the staff named for this drive, when the hub enrolled it, it is not revoked,
    and the manifest names the same device; else an error and nothing is imported. The
    manifest's `device_id` alone is never believed: anyone can write one."""
    found = catalog.device(db, device_id)
    if found is None:
        raise NotFoundError(f"no device {device_id!r} at this hub; nothing imported",
                            message_vi=f"Không có thiết bị “{device_id}”; không nhập gói nào.")
    if found["revoked"] or not found["token_hash"]:
        raise StateError(f"device {device_id!r} is revoked or was never enrolled; "
                         "nothing imported",
                         message_vi=f"Thiết bị “{device_id}” đã bị thu hồi hoặc chưa đăng ký; "
                                    "không nhập gói nào.")
    if manifest.get("device_id") != device_id:
        raise InputError(f"the drive's manifest is from device {manifest.get('device_id')!r}, "
                         f"not {device_id!r}; nothing imported",
                         message_vi="Ổ USB là bản xuất của thiết bị khác; không nhập gói nào.")
    return device_id


def _entry_problem(folder: Path, entry: dict[str, Any]) -> str | None:
    name, sha256, size = entry.get("name"), entry.get("sha256"), entry.get("size")
    if not isinstance(name, str) or PurePath(name).name != name or name in ("", ".", ".."):
        return "not a plain file name"
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256) or not isinstance(size, int):
        return "the manifest entry lacks a sha256 or size"
    path = folder / name
    if not path.is_file():
        return "missing"
    if path.stat().st_size != size:
        return f"size {path.stat().st_size} is not {size} (partial copy)"
    if sha256_file(path) != sha256:
        return "SHA-256 differs from the manifest (damaged copy)"
    return None


def _stage(hub: Hub, source: Path) -> Path:
    """A private copy on the hub's disk: the drive's file is never moved or trusted twice."""
    staged = hub.paths.uploads / f"usb-{os.urandom(8).hex()}.part"
    try:
        with source.open("rb") as reader, staged.open("xb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
    except OSError as exc:
        staged.unlink(missing_ok=True)
        raise StorageError(f"cannot copy {source} to the hub: {exc.strerror}") from exc
    return staged


def _write_receipt(folder: Path, sha256: str, document: dict[str, Any]) -> None:
    target = folder / "receipts"
    target.mkdir(exist_ok=True)
    with atomic_output(target / f"{sha256}.json") as handle:
        handle.write(json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8"))
