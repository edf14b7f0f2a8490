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
    """Take in the file at `path` (consumed once judged) that `device_id` says has `sha256`.

    Raises IntegrityError, storing nothing and making no receipt, when its bytes do not hash
    to `sha256` (damaged in transit: the sender must send it again). Bytes are judged and
    stored once; the verdict depends on the bytes alone, so no sender can change it for
    another. Each device gets its own signed receipt (the same one again if it sends twice)."""
    path = Path(path)
    actual = sha256_file(path)
    if actual != sha256:
        path.unlink(missing_ok=True)
        raise IntegrityError(
            f"package {package_id}: received bytes hash to {actual[:12]}…, not {sha256[:12]}…",
            message_vi="Gói tin nhận được bị hỏng trên đường truyền; cần gửi lại.")
    known = catalog.receipt(db, sha256, device_id)
    if known is not None:
        log.info("package %s (%s) already received from %s; nothing stored", package_id,
                 sha256[:12], device_id)
        path.unlink(missing_ok=True)
        return Intake(known, False, known["receipt"]["verdict"])
    judged, stored_now = catalog.package(db, sha256), False
    if judged is None:
        judged, stored_now = _judge(hub, db, path, sha256=sha256, device_id=device_id,
                                    source=source)
    else:
        log.info("package %s (%s) from %s: these bytes are held already (%s); not stored again",
                 package_id, sha256[:12], device_id, judged["verdict"])
    path.unlink(missing_ok=True)  # stored (linked) already, or rejected: kept nowhere
    document = _issue_receipt(hub, db, judged, claimed_id=package_id, device_id=device_id,
                              source=source)
    return Intake(document, stored_now, document["receipt"]["verdict"])


def _judge(hub: Hub, db: Database, path: Path, *, sha256: str, device_id: str,
           source: str) -> tuple[dict[str, Any], bool]:
    """Validate new bytes, store them when accepted, record the verdict once; (row, stored now).

    Nothing the sender says enters the verdict: two devices sending the same bytes get the
    same verdict and reasons. A StorageError leaves `path` for a retry."""
    size = path.stat().st_size  # before the store consumes the file
    verdict = hub.validate(path)
    reasons = list(verdict.reasons)
    accepted = not reasons
    stored_now = hub.store.put(sha256, path) if accepted else False
    row = {"sha256": sha256, "package_id": verdict.package_id or "", "size": size,
           "device_id": device_id, "source": source,
           "verdict": "accepted" if accepted else "rejected", "reasons": reasons,
           "kind": verdict.kind, "file_code": verdict.file_code, "documents": verdict.documents,
           "pages": verdict.pages, "stored": accepted, "received_at": now()}
    with transaction(db):
        if not catalog.insert_package(db, row):  # another upload of these bytes won the race
            return catalog.package(db, sha256), False
    log.info("package %s (%s) first sent by %s: %s%s", row["package_id"], sha256[:12],
             device_id, row["verdict"], f" {reasons}" if reasons else "")
    return row, stored_now


def _issue_receipt(hub: Hub, db: Database, judged: dict[str, Any], *, claimed_id: str,
                   device_id: str, source: str) -> dict[str, Any]:
    """Sign and keep `device_id`'s receipt for judged bytes; the one it holds if it won a race.

    The receipt names the package's own id (from its METS) when the bytes have one; the
    sender's claim only when they do not (an unreadable package)."""
    own_id = judged["package_id"]
    if own_id and claimed_id and own_id != claimed_id:
        log.warning("package %s (%s): %s calls it %s; the receipt names the package's own id",
                    own_id, judged["sha256"][:12], device_id, claimed_id)
    receipt = Receipt(package_id=own_id or claimed_id, sha256=judged["sha256"],
                      size=judged["size"], received_at=now(), verdict=judged["verdict"],
                      reasons=list(judged["reasons"]), hub_id=hub.hub_id, device_id=device_id)
    document = sign_receipt(receipt, hub.key)
    with transaction(db):
        if not catalog.insert_receipt(db, device_id, source, document):
            return catalog.receipt(db, judged["sha256"], device_id)
        catalog.record_event(db, f"device:{device_id}", f"package.{receipt.verdict}",
                             receipt.sha256, {"package_id": receipt.package_id,
                                              "claimed_package_id": claimed_id,
                                              "source": source, "reasons": receipt.reasons})
    log.info("package %s (%s): %s receipt for %s", receipt.package_id, receipt.sha256[:12],
             receipt.verdict, device_id)
    return document
