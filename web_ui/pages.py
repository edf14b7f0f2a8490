"""The page grid of a dossier: screens of thumbnails by document; reorder, split, merge, rotate,
delete and the corners editor. Every change goes through device.catalog.pages (audited)."""

from __future__ import annotations

import io
import logging
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, send_file, url_for

from device.catalog import pages as editing
from device.catalog.documents import document_with_count, filled_fields, remove_empty_document
from device.catalog.dossiers import load
from device.db.pages import (deleted_page_source, deleted_pages_of, manual_quad_of, page_by_id,
                             page_place)
from device.errors import InputError, NotFoundError, StateError
from device.files import atomic_output
from device.frames import UNREADABLE, small_frame
from device.records.identifiers import doc_id
from device.records.lifecycle import EDITABLE, DossierState
from web_ui.thumbs import cache_folder, send_thumbnail, thumbnail
from web_ui.web import (
    actor, api, box, json_error, label, state_label, t, user_message, wants_json,
)

log = logging.getLogger(__name__)

bp = Blueprint("pages", __name__)

PER_SCREEN = 48  # thumbnails on one screen of the grid: a 1,000-page dossier is ~21 screens
SOURCE_SIZE = 1600  # long side of the capture shown in the corners editor
CORNERS = ("tl", "tr", "br", "bl")
DELETED_SHOWN = 24  # deleted pages listed under the grid, newest first


def _page_in(code: str, page_id: int) -> dict[str, Any]:
    place = page_place(box().db, page_id)
    if place is None or place["file_code"] != code:
        raise NotFoundError(f"no page {page_id} in {code}", message_vi="Không có trang này trong hồ sơ.")
    return {**page_by_id(box().db, page_id), **place}


def _grid_url(code: str, page_id: int | None = None) -> str:
    if page_id is not None and page_place(box().db, page_id) is not None:
        return url_for("pages.grid", code=code, page=page_id, _anchor=f"p{page_id}")
    screen = request.form.get("screen", "1")
    return url_for("pages.grid", code=code, screen=screen if screen.isdigit() else "1")


def _done(code: str, message: str, page_id: int | None = None) -> Any:
    """Answer a change that worked: JSON for scripts, else back to the grid with a notice."""
    url = _grid_url(code, page_id)
    if wants_json(None):
        return jsonify({"ok": True, "message": message, "url": url})
    flash(message, "info")
    return redirect(url, 303)


def _refused(code: str, exc: InputError | StateError, page_id: int | None = None) -> Any:
    """Answer a refused change (nothing was changed) with its reason in the session's language
    (JSON carries it as `message_vi`, the field the app's scripts show)."""
    if wants_json(None):
        return json_error(409 if isinstance(exc, StateError) else 400, type(exc).__name__,
                          exc.message, user_message(exc))
    flash(user_message(exc), "error")
    return redirect(_grid_url(code, page_id), 303)


def _number_field(name: str, kind: type = int, problem_key: str = "pages.bad_number") -> Any:
    """The form field `name` as a `kind` (int or float); InputError with `problem_key`'s text."""
    value = request.form.get(name, "").strip()
    try:
        return kind(value)
    except ValueError:
        raise InputError(f"{name} must be a {kind.__name__}, not {value!r}",
                         message_vi=t(problem_key)) from None


def _int_field(name: str) -> int:
    return _number_field(name)


@bp.get("/dossiers/<code>/pages")
def grid(code: str) -> Any:
    screen = request.args.get("screen", "1")
    screen_no = int(screen) if screen.isdigit() and int(screen) > 0 else 1
    if request.args.get("page", "").isdigit():
        screen_no = editing.reading_index(box(), int(request.args["page"])) // PER_SCREEN + 1
    window = editing.page_window(box(), code, screen_no, PER_SCREEN)
    state = DossierState(window["dossier"]["state"])
    deleted, deleted_total = _deleted_pages(code, window["dossier"]["id"], window["documents"])
    return render_template(
        "pages/grid.html", code=code, groups=_groups(code, window), documents=window["documents"],
        total=window["total"], screen=window["screen"], screens=window["screens"],
        first=window["offset"] + 1, last=window["offset"] + len(window["pages"]),
        editable=state in EDITABLE, state=state.value,
        deleted=deleted, deleted_total=deleted_total)


def _groups(code: str, window: dict[str, Any]) -> list[dict[str, Any]]:
    """The screen's pages grouped by document, with the documents left without pages that
    this screen shows (so they can be merged or removed), in order."""
    counts = {document["seq"]: document["page_count"] for document in window["documents"]}
    ids = {document["seq"]: document["id"] for document in window["documents"]}
    groups: list[dict[str, Any]] = []
    for page in window["pages"]:
        seq = page["document_seq"]
        if not groups or groups[-1]["seq"] != seq:
            groups.append({"seq": seq, "id": ids.get(seq), "docId": doc_id(code, seq),
                           "count": counts.get(seq, 0), "first_position": page["position"],
                           "pages": []})
        flags = [_flag_text(key, flag) for key, flag in sorted(page["qc_flags"].items())
                 if isinstance(flag, dict) and flag.get("flagged")]
        groups[-1]["pages"].append({**page, "flags": flags,
                                    "manual": manual_quad_of(page) is not None})
    groups += [{"seq": document["seq"], "id": document["id"], "docId": doc_id(code, document["seq"]),
                "count": 0, "first_position": 1, "pages": []} for document in window["empty"]]
    return sorted(groups, key=lambda group: group["seq"])


def _flag_text(key: str, flag: dict[str, Any]) -> str:
    """A QC flag's text; a check with no text yet is named by its key."""
    reason = flag.get("reason_key") or f"qc.{key}"
    text = t(reason)
    return text if text != reason else t("pages.qc_other", key=key)


@bp.post("/dossiers/<code>/pages/<int:page_id>/move")
def move(code: str, page_id: int) -> Any:
    try:
        # Dragging sends the id of the document it dropped into as well: a split or merge
        # by someone else meanwhile renumbers documents, and the move is then refused.
        dropped_into = request.form.get("document_id", "")
        place = editing.move_page(box(), page_id, position=_int_field("position"),
                                  document_seq=_int_field("document"), file_code=code,
                                  document_id=int(dropped_into) if dropped_into.isdigit() else None,
                                  actor=actor())
    except (InputError, StateError) as exc:
        return _refused(code, exc, page_id)
    return _done(code, t("pages.moved", n=place["position"],
                         doc=doc_id(code, place["document_seq"])), page_id)


@bp.post("/dossiers/<code>/pages/<int:page_id>/rotate")
def rotate(code: str, page_id: int) -> Any:
    try:
        editing.rotate_page(box(), page_id, _int_field("degrees"), file_code=code, actor=actor())
    except (InputError, StateError) as exc:
        return _refused(code, exc, page_id)
    return _done(code, t("pages.rotated"), page_id)


@bp.post("/dossiers/<code>/pages/<int:page_id>/split")
def split(code: str, page_id: int) -> Any:
    try:
        seq = editing.split_document(box(), page_id, file_code=code, actor=actor())
    except (InputError, StateError) as exc:
        return _refused(code, exc, page_id)
    return _done(code, t("pages.split_done", doc=doc_id(code, seq)), page_id)


@bp.route("/dossiers/<code>/documents/<int:seq>/merge", methods=["GET", "POST"])
def merge(code: str, seq: int) -> Any:
    """GET asks first (naming both documents, or why it cannot be done); POST merges the
    document the question was asked about."""
    if request.method == "GET":
        return _ask_about_document(code, seq, "merge")
    try:
        into = editing.merge_document(box(), code, seq, actor=actor(),
                                      document_id=_opened_document())
    except (InputError, StateError) as exc:
        return _refused(code, exc)
    return _done(code, t("pages.merge_done", doc=doc_id(code, into)))


@bp.route("/dossiers/<code>/documents/<int:seq>/remove", methods=["GET", "POST"])
def remove(code: str, seq: int) -> Any:
    """Remove a document left without pages, after asking."""
    if request.method == "GET":
        return _ask_about_document(code, seq, "remove")
    try:
        remove_empty_document(box(), code, seq, actor=actor(), document_id=_opened_document())
    except (InputError, StateError) as exc:
        return _refused(code, exc)
    return _done(code, t("pages.remove_done", doc=doc_id(code, seq)))


def _opened_document() -> int:
    """The id of the document a confirmation was asked about (documents are renumbered)."""
    value = request.form.get("document_id", "")
    if not value.isdigit():
        raise InputError("the form does not say which document it was opened on; open it again",
                         message_vi=t("pages.form_stale"))
    return int(value)


def _ask_about_document(code: str, seq: int, action: str) -> Any:
    """The question before merging or removing document `seq`, or why it cannot be done."""
    dossier, document = document_with_count(box(), code, seq)
    screen = request.args.get("screen", "1")
    screen = screen if screen.isdigit() else "1"  # back to the grid screen it was asked from
    filled = [label(spec) for spec in filled_fields(document)]
    previous = document_with_count(box(), code, seq - 1)[1] if seq > 1 else None
    blocked = ""
    if DossierState(dossier["state"]) not in EDITABLE:
        blocked = t("pages.locked", state=state_label(dossier["state"]))
    elif action == "merge" and previous is None:
        blocked = t("pages.merge_first")
    elif action == "merge" and filled:
        blocked = t("pages.merge_has_fields", doc=doc_id(code, seq), into=doc_id(code, seq - 1))
    elif action == "remove" and document["page_count"]:
        blocked = t("pages.remove_has_pages", doc=doc_id(code, seq), n=document["page_count"])
    return render_template(
        "pages/document.html", code=code, action=action, document=document,
        docId=doc_id(code, seq), previous=previous, filled=filled, blocked=blocked,
        into=doc_id(code, seq - 1) if previous else None, screen=screen)


@bp.route("/dossiers/<code>/pages/<int:page_id>/delete", methods=["GET", "POST"])
def delete(code: str, page_id: int) -> Any:
    page = _page_in(code, page_id)
    if request.method == "GET":
        return render_template("pages/delete.html", code=code, page=page,
                               docId=doc_id(code, page["document_seq"]))
    try:
        editing.delete_page(box(), page_id, file_code=code, actor=actor())
    except (InputError, StateError) as exc:
        return _refused(code, exc, page_id)
    return _done(code, t("pages.deleted"))


def _deleted_pages(code: str, dossier_id: int,
                   documents: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The dossier's DELETED_SHOWN most recently deleted pages, newest first, each with the
    document it was in (its number now; None when that document is gone), and how many."""
    seqs = {document["id"]: document["seq"] for document in documents}
    rows, total = deleted_pages_of(box().db, dossier_id, DELETED_SHOWN)
    return [{**row, "docId": doc_id(code, seqs[row["doc"]]) if row["doc"] in seqs else None}
            for row in rows], total


def _deleted_in(code: str, deleted_id: int) -> dict[str, Any]:
    """A deleted page of dossier `code`, as its thumbnail reads it."""
    source = deleted_page_source(box().db, deleted_id)
    if source is None or source["dossier_id"] != load(box(), code)["id"]:
        raise NotFoundError(f"no deleted page {deleted_id} in {code}",
                            message_vi=t("pages.deleted_gone"))
    return source


@bp.get("/dossiers/<code>/deleted/<int:deleted_id>/thumb.jpg")
@api
def deleted_thumbnail(code: str, deleted_id: int) -> Any:
    return send_thumbnail(thumbnail(box(), _deleted_in(code, deleted_id)))


@bp.post("/dossiers/<code>/deleted/<int:deleted_id>/restore")
def restore(code: str, deleted_id: int) -> Any:
    _deleted_in(code, deleted_id)  # a deleted page of another dossier is not restored from here
    try:
        place = editing.restore_page(box(), deleted_id, actor=actor())
    except (InputError, StateError) as exc:
        return _refused(code, exc)
    return _done(code, t("pages.restored", n=place["position"],
                         doc=doc_id(code, place["document_seq"])), place["id"])


@bp.route("/dossiers/<code>/pages/<int:page_id>/corners", methods=["GET", "POST"])
def corners(code: str, page_id: int) -> Any:
    page = _page_in(code, page_id)
    width, height = editing.source_size(box(), page)
    if request.method == "POST":
        try:
            if request.form.get("reset"):
                editing.clear_corners(box(), page_id, file_code=code, actor=actor())
                return _done(code, t("pages.corners_cleared"), page_id)
            quad = [[_float_field(f"{corner}_x"), _float_field(f"{corner}_y")] for corner in CORNERS]
            editing.set_corners(box(), page_id, quad, file_code=code, actor=actor())
        except (InputError, StateError) as exc:
            if wants_json(None):
                return _refused(code, exc, page_id)
            flash(user_message(exc), "error")  # back to the editor, to correct them
            return redirect(url_for("pages.corners", code=code, page_id=page_id), 303)
        return _done(code, t("pages.corners_saved"), page_id)
    quad = editing.current_corners(page) or editing.detected_corners(box(), page, (width, height)) \
        or _inset(width, height)
    return render_template("pages/corners.html", code=code, page=page, width=width, height=height,
                           docId=doc_id(code, page["document_seq"]),
                           corners=[(name, t(f"pages.corner_{name}"), point)
                                    for name, point in zip(CORNERS, quad, strict=True)],
                           manual=manual_quad_of(page) is not None,
                           radius=max(width, height) / 30)  # >= 44 px on a tablet


def _float_field(name: str) -> float:
    return _number_field(name, float, "pages.bad_coordinate")


def _inset(width: int, height: int) -> list[list[float]]:
    """Where the handles start when the page has no corners yet: just inside the frame."""
    dx, dy = round(width * 0.05, 1), round(height * 0.05, 1)
    return [[dx, dy], [width - dx, dy], [width - dx, height - dy], [dx, height - dy]]


@bp.get("/dossiers/<code>/pages/<int:page_id>/source.jpg")
@api
def source_image(code: str, page_id: int) -> Any:
    """The page's whole capture frame, EXIF-turned as the worker reads it, at most
    SOURCE_SIZE pixels long: the corners editor draws on it (cached like thumbnails)."""
    page = _page_in(code, page_id)
    editing.source_size(box(), page)  # refuses a source that has no frame to show
    cached = cache_folder(box()) / f"source-{page['raw_sha256']}-{page['frame']}-{SOURCE_SIZE}.jpg"
    if not cached.is_file():
        data = _render_source(box().blobs.path(page["raw_sha256"]), page["frame"])
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(cached) as handle:
            handle.write(data)
    response = send_file(cached, mimetype="image/jpeg", conditional=True, max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def _render_source(path: Any, frame: int) -> bytes:
    try:
        picture = small_frame(path, frame, SOURCE_SIZE)
    except UNREADABLE as exc:
        raise NotFoundError(f"{path}: cannot be read ({exc})",
                            message_vi="Không đọc được ảnh chụp gốc của trang.") from None
    picture.thumbnail((SOURCE_SIZE, SOURCE_SIZE))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85)
    return out.getvalue()
