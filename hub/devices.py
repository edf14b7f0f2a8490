"""Device identity at the hub: one-time enrollment codes, hashed tokens, revocation."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
from typing import Any

from device.db.connection import Database, transaction
from device.db.timeutil import now
from device.errors import InputError, NotFoundError, StateError
from hub import catalog

log = logging.getLogger(__name__)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", re.ASCII)
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud on the phone


def digest(secret: str) -> str:
    """What the hub keeps of a token or a code: its SHA-256, hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def normalise_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


def issue_enrollment_code(db: Database, device_id: str, hours: float, *, actor: str) -> str:
    """A new one-time code for `device_id` (created if new); only its hash is kept."""
    if not _NAME.fullmatch(device_id):
        raise InputError(f"device name {device_id!r}: 1–64 letters, digits, '.', '_', '-'",
                         message_vi="Tên thiết bị chỉ gồm chữ, số, '.', '_', '-' (tối đa 64 ký tự)")
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))  # about 79 bits
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=hours)
    with transaction(db):
        catalog.ensure_device(db, device_id)
        catalog.add_enrollment_code(db, digest(raw), device_id,
                                    expires.isoformat(timespec="microseconds"))
        catalog.record_event(db, actor, "device.code_issued", device_id,
                             {"expires_at": expires.isoformat(timespec="seconds")})
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def enroll(db: Database, code: str, box_name: str, version: str) -> tuple[str, str]:
    """Use a one-time code: (device_id, token). StateError when unknown, used or expired."""
    hashed = digest(normalise_code(code))
    token = secrets.token_urlsafe(32)
    at = now()
    with transaction(db):
        row = catalog.enrollment_code(db, hashed)
        if row is None or not catalog.use_enrollment_code(db, hashed, at):
            why = "unknown" if row is None else ("used" if row["used_at"] else "expired")
            raise StateError(f"enrollment code {why}",
                             message_vi="Mã đăng ký không đúng, đã dùng hoặc đã hết hạn")
        catalog.set_device_token(db, row["device_id"], digest(token), box_name, version)
        catalog.record_event(db, f"device:{row['device_id']}", "device.enrolled",
                             row["device_id"], {"box_name": box_name, "version": version})
    log.info("device %s enrolled (box %r, version %s)", row["device_id"], box_name, version)
    return row["device_id"], token


def authenticate(db: Database, token: str) -> dict[str, Any] | None:
    """The enrolled, unrevoked device holding `token`, or None."""
    if not token:
        return None
    found = catalog.device_by_token_hash(db, digest(token))
    if found is None or found["revoked"]:
        return None
    return found


def revoke(db: Database, device_id: str, *, actor: str) -> None:
    with transaction(db):
        if not catalog.revoke_device(db, device_id):
            raise NotFoundError(f"no device {device_id!r}",
                                message_vi=f"Không có thiết bị “{device_id}”")
        catalog.record_event(db, actor, "device.revoked", device_id)
    log.info("device %s revoked by %s", device_id, actor)
