"""The device API under `/api/v1/`: enrollment, receipts by SHA-256, health and progress reports."""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, g, jsonify, request

from device.db.connection import transaction
from device.errors import StateError
from hub import catalog
from hub.devices import enroll as enroll_device
from hub.web import current_hub, db, device_required, json_error

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MAX_ENROLL_BODY = 16 << 10


def _json_body(limit: int) -> tuple[dict | None, Response | None]:
    if (request.content_length or 0) > limit:
        return None, json_error(413, "body_too_large", f"the body may hold at most {limit} bytes")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return None, json_error(400, "bad_body", "the body must be a JSON object")
    return body, None


@bp.post("/enroll")
def enroll() -> Response:
    body, refused = _json_body(_MAX_ENROLL_BODY)
    if refused is not None:
        return refused
    code, box_name, version = (body.get(key) for key in ("code", "box_name", "version"))
    if not isinstance(code, str) or not code.strip() or not isinstance(box_name, str) \
            or not isinstance(version or "", str) or len(box_name) > 200:
        return json_error(400, "bad_body", "expected {code, box_name, version} as text")
    hub = current_hub()
    try:
        device_id, token = enroll_device(db(), code, box_name, version or "")
    except StateError as exc:
        return json_error(403, "enroll.refused", exc.message, exc.message_vi)
    return jsonify({"device_id": device_id, "token": token, "hub_id": hub.hub_id,
                    "hub_public_key": hub.public_key, "tus_endpoint": "/api/v1/uploads/"})


@bp.get("/packages/<sha256>")
@device_required
def package_receipt(sha256: str) -> Response:
    if not _SHA256.fullmatch(sha256):
        return json_error(400, "bad_sha256", "expected 64 lower-case hex digits")
    # Only the asking device's own receipt: another device's package answers as if absent.
    document = catalog.receipt(db(), sha256, g.device["id"])
    if document is None:
        return json_error(404, "not_found", "this device has sent no package with this SHA-256")
    return jsonify({"receipt": document})


@bp.post("/report")
@device_required
def report() -> Response:
    body, refused = _json_body(current_hub().settings.max_report_kb << 10)
    if refused is not None:
        return refused
    health, dossiers = body.get("health", {}), body.get("dossiers", [])
    if not isinstance(health, dict) or not isinstance(dossiers, list):
        return json_error(400, "bad_body", "expected {health: object, dossiers: list}")
    with transaction(db()):
        catalog.add_report(db(), g.device["id"], health, dossiers)
        catalog.touch_device(db(), g.device["id"])
    return Response(status=204)
