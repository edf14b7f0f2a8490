"""Unfinished tus uploads on disk: one partial file each, appended durably, locked, expired."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import fcntl
import hashlib
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from device.db.connection import Database, transaction
from device.db.timeutil import now
from device.errors import InputError, StateError
from hub import catalog
from hub.context import Hub

log = logging.getLogger(__name__)

CHECKSUM_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_READ = 1 << 20


class ChecksumMismatch(InputError):
    """The chunk's bytes do not match its Upload-Checksum; nothing was kept."""

    http_status = 460  # tus checksum extension: "Checksum Mismatch"


class UploadBusy(StateError):
    """Another request is writing to (or taking in) the same upload right now."""

    http_status = 423  # Locked: the client retries soon, unlike a 409 offset conflict


class UploadVanished(StateError):
    """The partial file is gone: taken in, terminated or expired by another request."""


@dataclass(frozen=True)
class Metadata:
    filename: str
    sha256: str
    package_id: str


def parse_metadata(header: str) -> Metadata:
    """tus `Upload-Metadata` (`key base64,key base64`) with our three required keys."""
    values: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in header.split(","))):
        key, _, encoded = pair.partition(" ")
        if not key or key in values or " " in encoded.strip():
            raise InputError(f"Upload-Metadata: malformed pair {pair[:40]!r}")
        try:
            values[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise InputError(f"Upload-Metadata: {key} is not base64 of UTF-8 text") from None
    missing = [key for key in ("filename", "sha256", "package_id") if not values.get(key)]
    if missing:
        raise InputError(f"Upload-Metadata: missing {', '.join(missing)}")
    sha256 = values["sha256"].lower()
    if not _SHA256.fullmatch(sha256):
        raise InputError("Upload-Metadata: sha256 is not 64 hex digits")
    if len(values["package_id"]) > 200 or len(values["filename"]) > 255:
        raise InputError("Upload-Metadata: package_id or filename too long")
    return Metadata(values["filename"], sha256, values["package_id"])


def parse_checksum(header: str | None) -> tuple[str, bytes] | None:
    """`Upload-Checksum: <algorithm> <base64 digest>`; InputError for an unknown algorithm."""
    if header is None:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise InputError(f"Upload-Checksum: algorithm {algorithm!r} is not supported")
    try:
        return algorithm, base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise InputError("Upload-Checksum: the digest is not base64") from None


def partial_path(hub: Hub, upload_id: str) -> Path:
    if not _UPLOAD_ID.fullmatch(upload_id):
        raise InputError("not an upload id")
    return hub.paths.uploads / f"{upload_id}.part"


def expiry_after(hub: Hub, start: dt.datetime | None = None) -> dt.datetime:
    start = start or dt.datetime.now(dt.timezone.utc)
    return start + dt.timedelta(hours=hub.settings.upload_expiry_hours)


def create(hub: Hub, db: Database, device_id: str, length: int, metadata: Metadata,
           raw_metadata: str) -> tuple[str, dt.datetime]:
    """A new upload: an empty partial file made durable, then its row."""
    upload_id = os.urandom(16).hex()
    path = partial_path(hub, upload_id)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    os.fsync(fd)
    os.close(fd)
    expires = expiry_after(hub)
    with transaction(db):
        catalog.create_upload(db, {"id": upload_id, "device_id": device_id, "length": length,
                                   "sha256": metadata.sha256, "package_id": metadata.package_id,
                                   "filename": metadata.filename, "metadata": raw_metadata,
                                   "expires_at": expires.isoformat(timespec="microseconds")})
    log.info("upload %s created by %s for package %s (%d bytes)", upload_id, device_id,
             metadata.package_id, length)
    return upload_id, expires


@contextmanager
def locked(path: Path) -> Iterator[BinaryIO]:
    """The partial file opened for writing, held exclusively (UploadBusy if another has it,
    UploadVanished if another request consumed or deleted it)."""
    try:
        handle = path.open("r+b")
    except FileNotFoundError:
        raise UploadVanished("the upload's bytes are gone (taken in or ended)") from None
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UploadBusy("another request is writing to this upload") from None
        yield handle
    finally:
        handle.close()


def append(handle: BinaryIO, offset: int, body: BinaryIO, limit: int,
           checksum: tuple[str, bytes] | None) -> int:
    """Write `body` at `offset` (at most `limit` bytes), check it, fsync; the bytes written.

    Anything past `offset` from an earlier failed attempt is cut off first; on a checksum
    mismatch or too many bytes the file is cut back to `offset`, so nothing is kept."""
    handle.seek(offset)
    handle.truncate()
    digest = CHECKSUM_ALGORITHMS[checksum[0]]() if checksum else None
    written = 0
    try:
        for chunk in iter(lambda: body.read(_READ), b""):
            written += len(chunk)
            if written > limit:
                raise InputError("the chunk runs past Upload-Length or the chunk limit")
            if digest:
                digest.update(chunk)
            handle.write(chunk)
        if checksum and digest.digest() != checksum[1]:
            raise ChecksumMismatch(f"Upload-Checksum {checksum[0]} does not match the chunk")
        handle.flush()
        os.fsync(handle.fileno())
    except BaseException:
        handle.seek(offset)
        handle.truncate()
        handle.flush()
        raise
    return written


def discard(hub: Hub, db: Database, upload_id: str, state: str) -> None:
    """Terminate or expire an upload: its bytes go, its row stays (HEAD then answers 404)."""
    partial_path(hub, upload_id).unlink(missing_ok=True)
    with transaction(db):
        catalog.set_upload_state(db, upload_id, state)
    log.info("upload %s %s", upload_id, state)


def expire_uploads(hub: Hub, db: Database, at: dt.datetime | None = None) -> int:
    """Delete every unfinished upload whose Upload-Expires has passed; how many there were."""
    stamp = (at or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="microseconds")
    expired = catalog.expired_uploads(db, stamp)
    for row in expired:
        discard(hub, db, row["id"], "expired")
    if expired:
        log.info("deleted %d expired uploads (as of %s)", len(expired), now())
    return len(expired)
