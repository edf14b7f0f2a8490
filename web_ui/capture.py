"""The capture screen: the preview proxied from the capture service's socket, the shutter
(POST /capture/shoot), the target (dossier, new document) and the last shots with QC flags."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for

from device.capture.client import CaptureClient, ServiceError, ServiceUnavailableError, socket_path
from device.catalog.describe import dossier_list_json
from device.catalog.dossiers import load
from device.db import records
from device.db.pages import page_for_processing, pages_of
from device.errors import InputError, SohoaError
from device.records.identifiers import doc_id
from device.records.lifecycle import EDITABLE
from web_ui.web import actor, api, box, config, json_error, t

log = logging.getLogger(__name__)

bp = Blueprint("capture", __name__, url_prefix="/capture")

BOUNDARY = "sohoaframe"
RECENT = 8  # shots shown beside the preview


def _client(timeout: float = 10.0) -> CaptureClient:
    return CaptureClient(socket_path(config()), timeout=timeout)


def _service_error(exc: SohoaError) -> Response:
    if isinstance(exc, ServiceUnavailableError):
        return json_error(503, "capture_unavailable", exc.message, t("capture.not_running"))
    status = exc.status if isinstance(exc, ServiceError) else 400
    key = exc.key if isinstance(exc, ServiceError) else type(exc).__name__
    return json_error(status, key, exc.message, exc.message_vi)


@bp.get("")
def screen() -> Any:
    target, running = None, True
    with _client() as client:
        try:
            target = client.target()
        except ServiceUnavailableError:
            running = False
        except ServiceError as exc:
            log.warning("capture service: %s", exc)
    dossiers = [row for row in dossier_list_json(box()) if row["state"] in EDITABLE]
    return render_template("capture/screen.html", target=target, running=running, dossiers=dossiers)


@bp.get("/preview.mjpg")
@api
def preview_stream() -> Any:
    """The service's MJPEG stream passed through frame by frame (each frame re-framed here, so
    a broken upstream part never reaches the browser half-written)."""
    client = _client()
    frames = client.preview_frames()
    try:
        first = next(frames)
    except (ServiceUnavailableError, ServiceError, StopIteration) as exc:
        client.close()
        message = exc.message if isinstance(exc, SohoaError) else "the preview stream ended"
        return json_error(503, "capture_unavailable", message, t("capture.not_running"))

    def parts() -> Iterator[bytes]:
        try:
            frame = first
            while True:
                yield (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(frame)}"
                       "\r\n\r\n").encode("ascii") + frame + b"\r\n"
                frame = next(frames)
        except (StopIteration, ServiceUnavailableError, ServiceError) as exc:
            log.info("preview stream ended: %s", exc or "upstream closed")
        finally:
            frames.close()
            client.close()

    response = Response(parts(), mimetype=f"multipart/x-mixed-replace; boundary={BOUNDARY}")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/preview.jpg")
@api
def preview_still() -> Any:
    with _client() as client:
        try:
            data = client.preview_jpeg()
        except (ServiceUnavailableError, ServiceError) as exc:
            return _service_error(exc)
    return Response(data, mimetype="image/jpeg", headers={"Cache-Control": "no-store"})


@bp.post("/shoot")
@api
def shoot() -> Any:
    """One shot into the service's current target; the pages it stored, with their QC flags.
    `expect` ({"dossier", "document"}) in the JSON body refuses the shot if the target moved."""
    body = request.get_json(silent=True) or {}
    expect = body.get("expect") if isinstance(body, dict) else None
    with _client(timeout=60.0) as client:
        try:
            answer = client.shoot(1, actor=actor(), expect=expect)
        except (ServiceUnavailableError, ServiceError) as exc:
            return _service_error(exc)
    for page in answer["pages"]:
        page["flags"] = [_flag_view(flag) for flag in page["flags"] if flag["flagged"]]
        page["thumb"] = url_for("dossiers.page_thumbnail", page_id=page["page"])
    return jsonify(answer)


@bp.post("/target")
def set_target() -> Any:
    """Aim the next shot: a dossier, and either a new document or the document given."""
    dossier = request.form.get("dossier", "").strip()
    document_text = request.form.get("document", "").strip()
    with _client() as client:
        try:
            if not dossier:
                raise InputError("no dossier chosen", message_vi=t("capture.no_dossier"))
            load(box(), dossier)
            document = int(document_text) if document_text.isdigit() else None
            target = client.set_target(dossier, document)
        except ServiceUnavailableError:
            flash(t("capture.not_running"), "error")
        except SohoaError as exc:
            flash(exc.message_vi, "error")
        else:
            where = target["docId"] or f"{target['dossier']} ({t('capture.new_document')})"
            flash(t("capture.target_set", where=where), "info")
    return redirect(url_for("capture.screen"), 303)


@bp.get("/recent.json")
@api
def recent() -> Any:
    """The last pages of the dossier being shot into (a pedal's shots too) with their flags."""
    with _client() as client:
        try:
            target = client.target()
        except (ServiceUnavailableError, ServiceError) as exc:
            return _service_error(exc)
    if target is None:
        return jsonify({"target": None, "pages": []})
    return jsonify({"target": target, "pages": _recent_pages(target["dossier"])})


def _recent_pages(file_code: str) -> list[dict[str, Any]]:
    dossier = load(box(), file_code)
    shown: list[dict[str, Any]] = []
    for document in reversed(records.documents_of(box().db, dossier["id"])):
        for page in reversed(pages_of(box().db, document["id"])):
            shown.append(_page_view(page, doc_id(file_code, document["seq"])))
            if len(shown) >= RECENT:
                return shown
    return shown


def _page_view(page: dict[str, Any], document: str) -> dict[str, Any]:
    full = page_for_processing(box().db, page["id"]) or page
    flags = {flag["key"]: flag for flag in full.get("capture_qc", {}).get("flags", [])}
    flags.update({key: {"key": key, **value} for key, value in page["qc_flags"].items()})
    return {"page": page["id"], "docId": document, "position": page["position"],
            "state": page["state"], "thumb": url_for("dossiers.page_thumbnail", page_id=page["id"]),
            "flags": [_flag_view(flag) for flag in flags.values() if flag["flagged"]]}


def _flag_view(flag: dict[str, Any]) -> dict[str, Any]:
    return {"key": flag["key"], "reason_key": flag["reason_key"], "text": t(flag["reason_key"]),
            "score": flag.get("score")}
