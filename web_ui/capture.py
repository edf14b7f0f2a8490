"""The capture screen: the preview proxied from the capture service's socket, the shutter and
retakes (POST /capture/shoot), auto-capture on/off, the target (dossier, new document) with its
page counts, and the last shots with their QC flags (polled, so pedal and auto shots show too)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for

from device.capture.client import CaptureClient, ServiceError, ServiceUnavailableError, socket_path
from device.capture.retake import check_retake
from device.catalog.describe import dossier_list_json
from device.catalog.dossiers import load
from device.db import records
from device.db.pages import dossier_counts, page_for_processing, page_place, pages_of
from device.errors import InputError, SohoaError
from device.records.identifiers import doc_id
from device.records.lifecycle import EDITABLE
from web_ui.web import actor, api, box, config, json_error, language, t, user_message

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
    return json_error(status, key, exc.message, _told(exc))


def _told(exc: SohoaError) -> str:
    """What the operator is told of an error: the capture service sends its English too."""
    if isinstance(exc, ServiceError) and language() == "en" and exc.body.get("message_en"):
        return str(exc.body["message_en"])
    return user_message(exc)


@bp.get("")
def screen() -> Any:
    """The screen; `?retake=<page id>` arms a retake of that page (the page grid links here)."""
    status, running = None, True
    with _client() as client:
        try:
            status = client.status()
        except ServiceUnavailableError:
            running = False
        except ServiceError as exc:
            log.warning("capture service: %s", exc)
    target = status["target"] if status else None
    retake, aim = _armed_retake(request.args.get("retake", ""), target)
    pending = retake is not None  # asked for by the link: the screen's script arms it (a POST)
    if retake is None and status:
        retake = _retake_view(status.get("retake"))
    dossiers = [row for row in dossier_list_json(box()) if row["state"] in EDITABLE]
    return render_template("capture/screen.html", target=target, running=running, dossiers=dossiers,
                           counts=_counts(target), auto=_auto_view(status["auto"] if status else None),
                           retake=retake, pending=pending, aim=aim)


def _armed_retake(text: str, target: dict[str, Any] | None) -> tuple[dict | None, dict | None]:
    """(the page `?retake=` names if it may be retaken into the target, else None with the
    reason flashed; the page's place when aiming at its document would allow it)."""
    if not text:
        return None, None
    valid = text.isdigit() and len(text) <= 12
    place = page_place(box().db, int(text)) if valid else None
    try:
        if not valid:
            raise _said(f"retake={text!r} is not a page id", "capture.retake_bad_id")
        if target is None:
            raise _said("no target", "capture.retake_no_target")
        place = check_retake(box(), target["dossier"], int(text))
    except SohoaError as exc:
        flash(user_message(exc), "error")
        aim = None
        if place is not None and (target is None or place["file_code"] != target["dossier"]):
            aim = {**place, "docId": doc_id(place["file_code"], place["document_seq"])}
        return None, aim
    return _retake_view(place["id"]), None


def _said(message: str, key: str) -> InputError:
    """An InputError whose text for people is the UI text `key` (in the session's language)."""
    return InputError(message, message_vi=t(key), message_en=t(key))


def _retake_view(page_id: int | None) -> dict[str, Any] | None:
    """The page a retake replaces, as the screen names it; None for none (or a page gone)."""
    place = page_place(box().db, page_id) if page_id else None
    if place is None:
        return None
    return {"page": place["id"], "position": place["position"],
            "docId": doc_id(place["file_code"], place["document_seq"])}


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
    In the JSON body, `expect` ({"dossier", "document"}) refuses the shot if the target moved;
    `retake` (a page id of the target's dossier) replaces that page instead of adding one."""
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        body = {}
    with _client(timeout=60.0) as client:
        try:
            answer = client.shoot(1, actor=actor(), expect=body.get("expect"),
                                  retake=body.get("retake"))
        except (ServiceUnavailableError, ServiceError) as exc:
            return _service_error(exc)
    for page in answer["pages"]:
        page["flags"] = [_flag_view(flag) for flag in page["flags"] if flag["flagged"]]
        page["thumb"] = _thumb_url(page["page"], page["sha256"])
    return jsonify(answer)


@bp.post("/retake")
@api
def arm_retake() -> Any:
    """JSON {"page": id|null}: the next single shot, whoever fires it (the screen, the pedal,
    auto-capture), replaces that page of the target's dossier; null cancels."""
    body = request.get_json(silent=True)
    page = body.get("page") if isinstance(body, dict) else None
    if page is not None and (isinstance(page, bool) or not isinstance(page, int)):
        return json_error(400, "bad_request", "page must be a page id or null",
                          t("capture.retake_bad_id"))
    with _client() as client:
        try:
            armed = client.arm_retake(page, actor=actor())
        except (ServiceUnavailableError, ServiceError) as exc:
            return _service_error(exc)
    return jsonify({"retake": _retake_view(armed)})


@bp.post("/auto")
@api
def switch_auto() -> Any:
    """Auto-capture on or off: JSON {"enabled": true|false}; answers its new state."""
    body = request.get_json(silent=True)
    enabled = body.get("enabled") if isinstance(body, dict) else None
    if not isinstance(enabled, bool):
        return json_error(400, "bad_request", "enabled must be true or false", t("capture.auto_bad"))
    with _client() as client:
        try:
            auto = client.set_auto(enabled, actor=actor())
        except (ServiceUnavailableError, ServiceError) as exc:
            return _service_error(exc)
    return jsonify({"auto": _auto_view(auto)})


@bp.post("/target")
def set_target() -> Any:
    """Aim the next shot: a dossier, and either a new document or the document given."""
    dossier = request.form.get("dossier", "").strip()
    document_text = request.form.get("document", "").strip()
    with _client() as client:
        try:
            if not dossier:
                raise _said("no dossier chosen", "capture.no_dossier")
            load(box(), dossier)
            document = int(document_text) if document_text.isdigit() else None
            target = client.set_target(dossier, document)
        except ServiceUnavailableError:
            flash(t("capture.not_running"), "error")
        except SohoaError as exc:
            flash(_told(exc), "error")
        else:
            where = target["docId"] or f"{target['dossier']} ({t('capture.new_document')})"
            flash(t("capture.target_set", where=where), "info")
    retake = request.form.get("retake", "")
    return redirect(url_for("capture.screen", retake=retake if retake.isdigit() else None), 303)


@bp.get("/recent.json")
@api
def recent() -> Any:
    """The last pages of the dossier being shot into (a pedal's shots too) with their flags,
    the target with its page counts, and auto-capture's state."""
    with _client() as client:
        try:
            status = client.status()
        except (ServiceUnavailableError, ServiceError) as exc:
            return _service_error(exc)
    target = status["target"]
    pages = _recent_pages(target["dossier"]) if target else []
    return jsonify({"target": target, "pages": pages, "counts": _counts(target),
                    "auto": _auto_view(status["auto"]), "retake": _retake_view(status.get("retake"))})


def _counts(target: dict[str, Any] | None) -> dict[str, int] | None:
    """Pages in the target's document (0 before a new one's first shot) and in its dossier."""
    if target is None:
        return None
    try:
        dossier = load(box(), target["dossier"])
    except SohoaError:  # removed since it was aimed at: the screen shows no counts
        return None
    counts = dossier_counts(box().db, dossier["id"])
    document = (records.document_by_seq(box().db, dossier["id"], target["document"])
                if target["document"] else None)
    return {"document": len(pages_of(box().db, document["id"])) if document else 0,
            "dossier": counts["numberOfPage"], "documents": counts["totalDoc"]}


def _auto_view(auto: dict[str, Any] | None) -> dict[str, Any]:
    """Auto-capture's state with the text its switch shows."""
    auto = auto or {"available": False, "enabled": False, "reason": "not_configured"}
    if auto["available"]:
        text = t("capture.auto_on" if auto["enabled"] else "capture.auto_off")
    else:
        text = t("capture.auto_stopped" if auto["reason"] == "stopped" else "capture.auto_not_configured")
    return {**auto, "text": text}


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
            "state": page["state"],
            "thumb": _thumb_url(page["id"], page["master_sha256"] or page["raw_sha256"]),
            "flags": [_flag_view(flag) for flag in flags.values() if flag["flagged"]]}


def _thumb_url(page_id: int, source_sha256: str) -> str:
    """The page's thumbnail, named by the image it is made from, so that a retake or the
    processed master is not hidden behind the browser's cached copy of the old one."""
    return url_for("dossiers.page_thumbnail", page_id=page_id, v=source_sha256[:12])


def _flag_view(flag: dict[str, Any]) -> dict[str, Any]:
    return {"key": flag["key"], "reason_key": flag["reason_key"], "text": t(flag["reason_key"]),
            "score": flag.get("score")}
