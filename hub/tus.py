"""The tus 1.0 endpoint (`/api/v1/uploads/`): creation, checksum, termination, expiration."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import re
from typing import BinaryIO

from flask import Blueprint, Response, g, request

from device.db.connection import transaction
from device.errors import InputError, IntegrityError
from hub import catalog, uploads
from hub.intake import take_in
from hub.web import current_hub, db, json_error, require_device

log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,checksum,termination,expiration"
OFFSET_TYPE = "application/offset+octet-stream"

bp = Blueprint("tus", __name__, url_prefix="/api/v1/uploads")


@bp.after_request
def _tus_headers(response: Response) -> Response:
    response.headers["Tus-Resumable"] = TUS_VERSION
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.before_request
def _guard() -> Response | None:
    if request.method == "OPTIONS":
        return None
    refused = require_device()
    if refused is not None:
        return refused
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        return json_error(412, "tus.version", f"Tus-Resumable: {TUS_VERSION} is required",
                          headers={"Tus-Version": TUS_VERSION})
    return None


@bp.route("/", methods=["OPTIONS"], strict_slashes=False)
def options() -> Response:
    return Response(status=204, headers={
        "Tus-Version": TUS_VERSION, "Tus-Extension": EXTENSIONS,
        "Tus-Checksum-Algorithm": ",".join(uploads.CHECKSUM_ALGORITHMS),
        "Tus-Max-Size": str(current_hub().max_upload_bytes)})


@bp.route("/", methods=["POST"], strict_slashes=False)
def create() -> Response:
    hub = current_hub()
    if "Upload-Defer-Length" in request.headers:
        return json_error(400, "tus.defer_length", "Upload-Defer-Length is not supported")
    length = _int_header("Upload-Length")
    if length is None or length < 1:
        return json_error(400, "tus.length", "Upload-Length must be a positive integer")
    if length > hub.max_upload_bytes:
        return json_error(413, "tus.too_large",
                          f"Upload-Length {length} exceeds Tus-Max-Size {hub.max_upload_bytes}",
                          "Gói tin vượt quá dung lượng tối đa",
                          {"Tus-Max-Size": str(hub.max_upload_bytes)})
    raw = request.headers.get("Upload-Metadata", "")
    try:
        metadata = uploads.parse_metadata(raw)
    except InputError as exc:
        return json_error(400, "tus.metadata", exc.message)
    upload_id, expires = uploads.create(hub, db(), g.device["id"], length, metadata, raw)
    return Response(status=201, headers={"Location": f"{bp.url_prefix}/{upload_id}",
                                         "Upload-Expires": _http_date(expires)})


@bp.route("/<upload_id>", methods=["HEAD"])
def head(upload_id: str) -> Response:
    row = _owned(upload_id)
    if row is None:
        return Response(status=404)
    return Response(status=200, headers={
        "Upload-Offset": str(row["received"]), "Upload-Length": str(row["length"]),
        "Upload-Metadata": row["metadata"], **_expires_header(row)})


@bp.route("/<upload_id>", methods=["PATCH"])
def patch(upload_id: str) -> Response:
    hub = current_hub()
    row = _owned(upload_id)
    if row is None:
        return json_error(404, "tus.not_found", "no such upload (finished, ended or expired)")
    if request.mimetype != OFFSET_TYPE:
        return json_error(415, "tus.content_type", f"Content-Type must be {OFFSET_TYPE}")
    offset = _int_header("Upload-Offset")
    if offset is None or offset < 0:
        return json_error(400, "tus.offset", "Upload-Offset must be a non-negative integer")
    if row["state"] == "done":
        return _finished(row, offset)
    if offset != row["received"]:
        return _offset_mismatch(offset, row["received"])
    if (request.content_length or 0) > hub.max_chunk_bytes:
        return json_error(413, "tus.chunk_too_large",
                          f"a PATCH body may hold at most {hub.max_chunk_bytes} bytes")
    try:
        checksum = uploads.parse_checksum(request.headers.get("Upload-Checksum"))
        # The lock is held until the answer: through the write and, after the last byte,
        # through the intake, so a second final PATCH or a DELETE meets 423, never a half-gone file.
        with uploads.locked(uploads.partial_path(hub, upload_id)) as handle:
            return _patch_locked(upload_id, handle, offset, checksum)
    except uploads.ChecksumMismatch as exc:
        return json_error(exc.http_status, "tus.checksum_mismatch", exc.message,
                          headers={"Upload-Offset": str(offset)})
    except uploads.UploadBusy as exc:
        return _busy(exc.message)
    except uploads.UploadVanished:
        return _vanished(upload_id, offset)
    except InputError as exc:
        return json_error(400, "tus.bad_chunk", exc.message)


def _patch_locked(upload_id: str, handle: BinaryIO, offset: int,
                  checksum: tuple[str, bytes] | None) -> Response:
    """Append the request body at `offset`, commit the new offset, take in after the last byte."""
    hub = current_hub()
    row = catalog.upload(db(), upload_id)
    if row["state"] == "done":
        return _finished(row, offset)
    if row["state"] != "receiving":
        return json_error(404, "tus.not_found", "no such upload (finished, ended or expired)")
    if row["received"] != offset:
        return _offset_mismatch(offset, row["received"])
    limit = min(row["length"] - offset, hub.max_chunk_bytes)
    written = uploads.append(handle, offset, request.stream, limit, checksum)
    if written:
        expires = uploads.expiry_after(hub).isoformat(timespec="microseconds")
        with transaction(db()):
            if not catalog.advance_upload(db(), upload_id, offset, offset + written, expires):
                return json_error(409, "tus.offset_mismatch", "another request moved the offset")
    if offset + written == row["length"]:
        return _finish(row)
    return Response(status=204, headers={"Upload-Offset": str(offset + written),
                                         **_expires_header(catalog.upload(db(), upload_id))})


@bp.route("/<upload_id>", methods=["DELETE"])
def terminate(upload_id: str) -> Response:
    """tus termination; 423 while another request writes or takes the upload in."""
    hub = current_hub()
    row = _owned(upload_id)
    if row is None or row["state"] != "receiving":
        return Response(status=404)
    try:
        with uploads.locked(uploads.partial_path(hub, upload_id)):
            if catalog.upload(db(), upload_id)["state"] != "receiving":
                return Response(status=404)
            uploads.discard(hub, db(), upload_id, "terminated")
    except uploads.UploadBusy as exc:
        return _busy(exc.message)
    except uploads.UploadVanished:
        fresh = catalog.upload(db(), upload_id)
        if fresh["state"] == "receiving":
            return _busy("the upload is being taken in")
        return Response(status=404)
    return Response(status=204)


def _finish(row: dict) -> Response:
    """The last byte landed (the caller holds the lock): hash, validate, store once, sign the
    receipt; then 204. A StorageError leaves the bytes for an empty PATCH to retry."""
    hub = current_hub()
    try:
        intake = take_in(hub, db(), uploads.partial_path(hub, row["id"]), sha256=row["sha256"],
                         package_id=row["package_id"], device_id=row["device_id"],
                         source="tus")
    except IntegrityError as exc:
        uploads.discard(hub, db(), row["id"], "terminated")
        return json_error(460, "upload.sha256_mismatch", exc.message, exc.message_vi)
    with transaction(db()):
        catalog.set_upload_state(db(), row["id"], "done")
    log.info("upload %s finished: package %s %s", row["id"], row["package_id"], intake.verdict)
    return Response(status=204, headers={"Upload-Offset": str(row["length"])})


def _finished(row: dict, offset: int) -> Response:
    """A PATCH to an upload already taken in: an empty one at its end is a retry of the final
    PATCH whose answer was lost (204, the receipt is at GET packages/<sha256>); else 409."""
    if offset == row["length"] and not request.content_length:
        return Response(status=204, headers={"Upload-Offset": str(row["length"])})
    return _offset_mismatch(offset, row["length"])


def _vanished(upload_id: str, offset: int) -> Response:
    """The partial file went while this request waited: finished, ended, or being taken in."""
    row = catalog.upload(db(), upload_id)
    if row["state"] == "done":
        return _finished(row, offset)
    if row["state"] == "receiving":
        return _busy("the upload is being taken in by another request")
    return json_error(404, "tus.not_found", "no such upload (finished, ended or expired)")


def _busy(message: str) -> Response:
    return json_error(uploads.UploadBusy.http_status, "tus.busy", message,
                      headers={"Retry-After": "1"})


def _offset_mismatch(offset: int, current: int) -> Response:
    return json_error(409, "tus.offset_mismatch",
                      f"Upload-Offset {offset} is not the upload's offset {current}",
                      headers={"Upload-Offset": str(current)})


def _owned(upload_id: str) -> dict | None:
    """The device's own upload that still answers (receiving, or done), else None."""
    try:
        uploads.partial_path(current_hub(), upload_id)
    except InputError:
        return None
    row = catalog.upload(db(), upload_id)
    if row is None or row["device_id"] != g.device["id"] or row["state"] in ("terminated",
                                                                             "expired"):
        return None
    return row


_DECIMAL = re.compile(r"[0-9]{1,19}")  # ASCII digits only: str.isdigit() also takes '²'


def _int_header(name: str) -> int | None:
    value = request.headers.get(name, "")
    return int(value) if _DECIMAL.fullmatch(value) else None


def _http_date(moment: dt.datetime) -> str:
    return email.utils.format_datetime(moment.astimezone(dt.timezone.utc), usegmt=True)


def _expires_header(row: dict) -> dict[str, str]:
    if row["state"] != "receiving":
        return {}
    return {"Upload-Expires": _http_date(dt.datetime.fromisoformat(row["expires_at"]))}
