"""Taking in one whole package file (from tus or a USB drive): hash, validate, store once, receipt."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.db.connection import Database, transaction
from device.db.timeutil import now
from device.errors import IntegrityError
from device.files import sha256_file
from device.receipts import Receipt, sign_receipt
from hub import catalog
from hub.context import Hub

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Intake:
    """The result: the signed receipt, and whether this call stored new bytes."""

    receipt: dict[str, Any]
    stored_now: bool
    verdict: str


def take_in(hub: Hub, db: Database, path: Path, *, sha256: str, package_id: str,
            device_id: str, source: str) -> Intake:
    """Take in the file at `path` (consumed once judged) that its sender says has `sha256`.

    Raises IntegrityError, storing nothing and making no receipt, when its bytes do not hash
    to `sha256` (damaged in transit: the sender must send it again). A package the hub already
    holds is not stored again; the earlier receipt is returned."""
    path = Path(path)
    actual = sha256_file(path)
    if actual != sha256:
        path.unlink(missing_ok=True)
        raise IntegrityError(
            f"package {package_id}: received bytes hash to {actual[:12]}…, not {sha256[:12]}…",
            message_vi="Gói tin nhận được bị hỏng trên đường truyền; cần gửi lại.")
    known = catalog.receipt(db, sha256)
    if known is not None:
        log.info("package %s (%s) already held; nothing stored", package_id, sha256[:12])
        path.unlink(missing_ok=True)
        return Intake(known, False, known["receipt"]["verdict"])
    intake = _judge_and_record(hub, db, path, sha256=sha256, package_id=package_id,
                               device_id=device_id, source=source)
    path.unlink(missing_ok=True)  # a rejected package is kept nowhere
    return intake


def _judge_and_record(hub: Hub, db: Database, path: Path, *, sha256: str, package_id: str,
                      device_id: str, source: str) -> Intake:
    size = path.stat().st_size
    verdict = hub.validate(path)
    reasons = list(verdict.reasons)
    if verdict.package_id and package_id and verdict.package_id != package_id:
        reasons.append(f"upload.package_id_mismatch: the sender says {package_id}, "
                       f"the package says {verdict.package_id}")
    accepted = not reasons
    stored_now = hub.store.put(sha256, path) if accepted else False
    receipt = Receipt(package_id=package_id or verdict.package_id or "", sha256=sha256, size=size,
                      received_at=now(), verdict="accepted" if accepted else "rejected",
                      reasons=reasons, hub_id=hub.hub_id, device_id=device_id)
    document = sign_receipt(receipt, hub.key)
    row = {"sha256": sha256, "package_id": receipt.package_id, "size": size,
           "device_id": device_id, "source": source, "verdict": receipt.verdict,
           "reasons": reasons, "kind": verdict.kind, "file_code": verdict.file_code,
           "documents": verdict.documents, "pages": verdict.pages, "stored": accepted,
           "received_at": receipt.received_at}
    with transaction(db):
        if not catalog.insert_package(db, row, document):  # another upload won the race
            document = catalog.receipt(db, sha256)
            return Intake(document, False, document["receipt"]["verdict"])
        catalog.record_event(db, f"device:{device_id}", f"package.{receipt.verdict}", sha256,
                             {"package_id": receipt.package_id, "source": source,
                              "reasons": reasons})
    log.info("package %s (%s) from %s: %s%s", receipt.package_id, sha256[:12], device_id,
             receipt.verdict, f" {reasons}" if reasons else "")
    return Intake(document, stored_now, receipt.verdict)
