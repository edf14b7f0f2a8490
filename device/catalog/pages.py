"""Editing a dossier's pages: order, split and merge documents, turn, delete, set corners; audited.

Every change needs an editable dossier (draft or returned), happens in one transaction with
its audit event, and keeps sheets and positions contiguous. A turn or new corners queue the
page to be processed again from its raw capture, which is never changed.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import cv2
import numpy as np

from device.box import Box
from device.catalog.documents import filled_fields, require_same_document
from device.catalog.dossiers import load
from device.db import pages as db_pages
from device.db import records, transaction
from device.db.events import record_event
from device.db.jobs import enqueue
from device.errors import InputError, NotFoundError, StateError
from device.frames import IMAGE_TYPES, UNREADABLE, frame_size, small_frame
from device.imaging.page import detect_page
from device.intake import PROCESS_PAGE
from device.records import lifecycle
from device.records.identifiers import doc_id
from device.retention import raw_capture_deleted

log = logging.getLogger(__name__)

ROTATIONS = (90, 180, 270)
_MIN_QUAD_SHARE = 0.02  # a page smaller than this share of the frame is a slip of the finger
_DETECT_SIDE = 1600  # long side the corners editor's first guess is looked for at


def _editable_place(box: Box, page_id: int, file_code: str | None) -> dict[str, Any]:
    """Where the page is, after checking it exists (in `file_code` when given) and that its
    dossier may change. Call inside the transaction that changes it."""
    place = db_pages.page_place(box.db, page_id)
    if place is None or (file_code is not None and place["file_code"] != file_code):
        raise NotFoundError(f"no page {page_id}" + (f" in dossier {file_code}" if file_code else ""),
                            message_vi="Không có trang này trong hồ sơ.")
    lifecycle.require_editable(load(box, place["file_code"])["state"])
    return place


def _document(box: Box, dossier_id: int, seq: int, file_code: str) -> dict[str, Any]:
    document = records.document_by_seq(box.db, dossier_id, seq)
    if document is None:
        raise NotFoundError(f"no document {seq} in dossier {file_code}",
                            message_vi=f"Không có tài liệu số {seq} trong hồ sơ.")
    return document


def move_page(box: Box, page_id: int, *, position: int, document_seq: int | None = None,
              file_code: str | None = None, document_id: int | None = None,
              actor: str) -> dict[str, Any]:
    """Put a page at `position` (from 1) of its document or of another document of the same
    dossier (`document_seq`); a position past the end means last. Returns its new place.
    With `document_id` (the document the person saw as `document_seq`) it refuses when that
    number now names another document."""
    with transaction(box.db):
        place = _editable_place(box, page_id, file_code)
        seq = place["document_seq"] if document_seq is None else document_seq
        target = _document(box, place["dossier_id"], seq, place["file_code"])
        require_same_document(target, document_id, doc_id(place["file_code"], seq))
        source_ids = db_pages.page_ids_of(box.db, place["document_id"])
        if target["id"] == place["document_id"] and len(source_ids) == 1:
            return place
        source_ids.remove(page_id)
        target_ids = source_ids if target["id"] == place["document_id"] else \
            db_pages.page_ids_of(box.db, target["id"])
        if position < 1:
            raise InputError(f"position {position} is not a page number",
                             message_vi="Vị trí trang phải từ 1 trở lên.")
        index = min(position, len(target_ids) + 1) - 1
        target_ids.insert(index, page_id)
        db_pages.place_pages(box.db, target["id"], target_ids)
        if target["id"] != place["document_id"]:
            db_pages.place_pages(box.db, place["document_id"], source_ids)
        new_place = db_pages.page_place(box.db, page_id)
        record_event(box.db, actor, "page.move", "page", page_id, {
            "from": {"docId": doc_id(place["file_code"], place["document_seq"]),
                     "position": place["position"]},
            "to": {"docId": doc_id(place["file_code"], seq), "position": new_place["position"]}})
    log.info("page %d moved to %s position %d", page_id, doc_id(place["file_code"], seq),
             new_place["position"])
    return new_place


def split_document(box: Box, page_id: int, *, file_code: str | None = None, actor: str) -> int:
    """Make the page and those after it a new document right after its own (later documents
    move one seq up); returns the new document's seq."""
    with transaction(box.db):
        place = _editable_place(box, page_id, file_code)
        ids = db_pages.page_ids_of(box.db, place["document_id"])
        at = ids.index(page_id)
        if at == 0:
            raise StateError("a document cannot be split at its first page",
                             message_vi="Không thể tách tài liệu tại trang đầu tiên của nó.")
        new_seq = place["document_seq"] + 1
        db_pages.shift_documents(box.db, place["dossier_id"], new_seq, 1)
        new_id = db_pages.insert_document_at(box.db, place["dossier_id"], new_seq)
        db_pages.place_pages(box.db, new_id, ids[at:])
        db_pages.place_pages(box.db, place["document_id"], ids[:at])
        record_event(box.db, actor, "document.split", "document", place["document_id"], {
            "docId": doc_id(place["file_code"], place["document_seq"]), "atPage": page_id,
            "newDocId": doc_id(place["file_code"], new_seq), "pagesMoved": len(ids) - at})
    log.info("%s split at page %d: %d pages to %s", doc_id(place["file_code"], place["document_seq"]),
             page_id, len(ids) - at, doc_id(place["file_code"], new_seq))
    return new_seq


def merge_document(box: Box, file_code: str, seq: int, *, actor: str,
                   document_id: int | None = None) -> int:
    """Append document `seq`'s pages to the previous document and remove it; later documents
    move one seq down. Refused while it holds TT05 fields (merging would drop them: a person
    moves or clears them first) and, with `document_id`, when `seq` is no longer the document
    a person opened. Returns the previous seq."""
    with transaction(box.db):
        dossier = load(box, file_code)
        lifecycle.require_editable(dossier["state"])
        document = _document(box, dossier["id"], seq, file_code)
        require_same_document(document, document_id, doc_id(file_code, seq))
        if seq == 1:
            raise StateError("the first document has none before it to merge into",
                             message_vi="Tài liệu đầu tiên không có tài liệu nào phía trước để gộp vào.")
        _require_no_fields(document, doc_id(file_code, seq), doc_id(file_code, seq - 1))
        previous = _document(box, dossier["id"], seq - 1, file_code)
        moved = db_pages.page_ids_of(box.db, document["id"])
        db_pages.place_pages(box.db, previous["id"],
                             db_pages.page_ids_of(box.db, previous["id"]) + moved)
        db_pages.delete_empty_document(box.db, document["id"])
        db_pages.shift_documents(box.db, dossier["id"], seq + 1, -1)
        record_event(box.db, actor, "document.merge", "document", previous["id"], {
            "docId": doc_id(file_code, seq - 1), "mergedDocId": doc_id(file_code, seq),
            "pagesMoved": len(moved), "mergedFields": document["fields"]})
    log.info("%s merged into %s (%d pages)", doc_id(file_code, seq), doc_id(file_code, seq - 1),
             len(moved))
    return seq - 1


def _require_no_fields(document: dict[str, Any], identifier: str, into: str) -> None:
    filled = filled_fields(document)
    if filled:
        english = ", ".join(spec.label_en for spec in filled)
        raise StateError(
            f"{identifier} holds fields ({english}) that merging would drop; move them to {into} "
            f"or clear them first", message_en=f"Document {identifier} has details filled in "
            f"({english}); merging would lose them, so nothing was merged. Copy what is needed "
            f"to {into}, clear them in {identifier}, then merge.",
            message_vi=f"Tài liệu {identifier} đã có thông tin: "
                       f"{', '.join(spec.label_vi for spec in filled)}. Gộp sẽ làm mất các thông "
                       f"tin này nên chưa gộp. Hãy chép những gì cần sang tài liệu {into}, xóa "
                       f"chúng khỏi tài liệu {identifier} rồi gộp lại.")


def _reprocess(box: Box, page_id: int) -> None:
    """Queue the page to be made again from its raw capture, which must still be there."""
    _require_raw_capture(box, page_id)
    enqueue(box.db, PROCESS_PAGE, f"page:{page_id}", box.config.settings.jobs.max_attempts)


def _require_raw_capture(box: Box, page_id: int) -> None:
    page = db_pages.page_by_id(box.db, page_id)
    if raw_capture_deleted(box, page["capture_id"]):
        raise StateError(f"page {page_id}: its raw capture was deleted by retention after the "
                         "archive accepted the dossier; retake the page to change it",
                         message_vi="Ảnh gốc của trang đã được xóa sau khi lưu trữ tiếp nhận hồ "
                                    "sơ; hãy chụp lại trang này để sửa.")


def rotate_page(box: Box, page_id: int, degrees: int, *, file_code: str | None = None,
                actor: str) -> int:
    """Turn a page clockwise by 90, 180 or 270 degrees more and queue it to be processed
    again; returns its total turn."""
    if degrees not in ROTATIONS:
        raise InputError(f"a page turns by 90, 180 or 270 degrees, not {degrees!r}",
                         message_vi="Chỉ xoay trang được 90, 180 hoặc 270 độ.")
    with transaction(box.db):
        place = _editable_place(box, page_id, file_code)
        before = int(db_pages.page_by_id(box.db, page_id)["rotation"])
        rotation = (before + degrees) % 360
        db_pages.set_page_edit(box.db, page_id, rotation=rotation)
        _reprocess(box, page_id)
        record_event(box.db, actor, "page.rotate", "page", page_id, {
            "docId": doc_id(place["file_code"], place["document_seq"]), "by": degrees,
            "from": before, "to": rotation})
    log.info("page %d turned by %d to %d degrees; queued again", page_id, degrees, rotation)
    return rotation


def delete_page(box: Box, page_id: int, *, file_code: str | None = None, actor: str) -> None:
    """Take a page out of its document and packages; its raw capture and row are kept."""
    with transaction(box.db):
        place = _editable_place(box, page_id, file_code)
        row = db_pages.remove_page(box.db, page_id, place["dossier_id"], actor)
        db_pages.place_pages(box.db, place["document_id"],
                             db_pages.page_ids_of(box.db, place["document_id"]))
        record_event(box.db, actor, "page.delete", "page", page_id, {
            "docId": doc_id(place["file_code"], place["document_seq"]),
            "position": place["position"], "captureId": row["capture_id"],
            "frame": row["frame"], "master": row["master_sha256"]})
    log.info("page %d deleted from %s (capture %d kept)", page_id,
             doc_id(place["file_code"], place["document_seq"]), row["capture_id"])


def source_size(box: Box, page: dict[str, Any]) -> tuple[int, int]:
    """Width and height of the page's capture frame as the worker sees it (EXIF turn applied):
    the space hand-set corners are given in. StateError for a source corners cannot apply to."""
    if page["media_type"] not in IMAGE_TYPES:
        raise StateError(f"page {page['id']} comes from a {page['media_type']} file; its corners "
                         "cannot be set by hand",
                         message_vi="Trang lấy từ tệp PDF: không chỉnh góc bằng tay được.")
    try:
        return frame_size(box.blobs.path(page["raw_sha256"]), page["frame"])
    except UNREADABLE as exc:
        raise StateError(f"page {page['id']}: its capture cannot be read ({exc})",
                         message_vi="Không đọc được ảnh chụp gốc của trang.") from None


def check_quad(quad: Any, width: int, height: int) -> list[list[float]]:
    """Four corners TL, TR, BR, BL inside a width x height frame, making a convex page of a
    sensible size; InputError saying what is wrong otherwise."""
    try:
        points = [[float(x), float(y)] for x, y in quad]
    except (TypeError, ValueError):
        points = []
    if len(points) != 4 or not all(math.isfinite(v) for point in points for v in point):
        raise InputError("corners must be four (x, y) points",
                         message_vi="Cần đúng bốn góc, mỗi góc gồm hai số (x, y).")
    if any(not (-1 <= x <= width + 1 and -1 <= y <= height + 1) for x, y in points):
        raise InputError(f"a corner lies outside the {width}x{height} image",
                         message_vi="Có góc nằm ngoài ảnh.")
    crosses = [(points[(i + 1) % 4][0] - points[i][0]) * (points[(i + 2) % 4][1] - points[(i + 1) % 4][1])
               - (points[(i + 1) % 4][1] - points[i][1]) * (points[(i + 2) % 4][0] - points[(i + 1) % 4][0])
               for i in range(4)]
    area = abs(sum(points[i][0] * points[(i + 1) % 4][1] - points[(i + 1) % 4][0] * points[i][1]
                   for i in range(4))) / 2
    # In image coordinates (y down) TL -> TR -> BR -> BL turns the same way at every corner.
    if not all(c > 0 for c in crosses) or area < _MIN_QUAD_SHARE * width * height:
        raise InputError("the corners must go top-left, top-right, bottom-right, bottom-left "
                         "around a page of a sensible size",
                         message_vi="Các góc phải theo thứ tự trên-trái, trên-phải, dưới-phải, "
                                    "dưới-trái và bao quanh cả trang.")
    return [[round(x, 1), round(y, 1)] for x, y in points]


def set_corners(box: Box, page_id: int, quad: Any, *, file_code: str | None = None,
                actor: str) -> list[list[float]]:
    """Store the page's corners set by hand (in its capture frame's pixels) and queue it to be
    processed again with them; returns the stored corners."""
    with transaction(box.db):
        place = _editable_place(box, page_id, file_code)
        _require_raw_capture(box, page_id)
        page = db_pages.page_by_id(box.db, page_id)
        corners = check_quad(quad, *source_size(box, page))
        db_pages.set_page_edit(box.db, page_id, manual_quad={
            "capture": page["capture_id"], "frame": page["frame"], "quad": corners})
        _reprocess(box, page_id)
        record_event(box.db, actor, "page.corners", "page", page_id, {
            "docId": doc_id(place["file_code"], place["document_seq"]), "quad": corners,
            "before": db_pages.manual_quad_of(page) or page["region"]})
    log.info("page %d: corners set by hand, queued again", page_id)
    return corners


def current_corners(page: dict[str, Any]) -> list[list[float]] | None:
    """The corners the page is processed with: set by hand, or its region in the capture."""
    return db_pages.manual_quad_of(page) or page["region"]


def clear_corners(box: Box, page_id: int, *, file_code: str | None = None, actor: str) -> None:
    """Drop the hand-set corners (the capture's own region or page detection applies again)
    and queue the page to be processed again."""
    with transaction(box.db):
        place = _editable_place(box, page_id, file_code)
        page = db_pages.page_by_id(box.db, page_id)
        db_pages.set_page_edit(box.db, page_id, clear_quad=True)
        _reprocess(box, page_id)
        record_event(box.db, actor, "page.corners", "page", page_id, {
            "docId": doc_id(place["file_code"], place["document_seq"]), "quad": None,
            "before": db_pages.manual_quad_of(page)})
    log.info("page %d: hand-set corners dropped, queued again", page_id)


def page_window(box: Box, file_code: str, screen: int, per_screen: int) -> dict[str, Any]:
    """One screen (from 1; past the last means the last) of the page grid: the dossier, all
    its documents (seq, id, page count), that screen's pages in reading order, the dossier's
    page count, the screen shown, the number of screens and the offset of its first page."""
    dossier = load(box, file_code)
    total = db_pages.dossier_page_count(box.db, dossier["id"])
    screens = max(1, -(-total // per_screen))
    screen = min(max(screen, 1), screens)
    offset = (screen - 1) * per_screen
    documents = records.documents_of(box.db, dossier["id"])
    return {"dossier": dossier, "documents": documents,
            "pages": db_pages.dossier_pages(box.db, dossier["id"], offset, per_screen),
            "empty": _empty_on_screen(documents, screen, per_screen),
            "total": total, "screen": screen, "screens": screens, "offset": offset}


def _empty_on_screen(documents: list[dict[str, Any]], screen: int,
                     per_screen: int) -> list[dict[str, Any]]:
    """The documents without pages that a grid screen shows: each on the screen of the last
    page before it (the first screen when no page comes before it), so it can be fixed."""
    shown, before = [], 0
    for document in documents:
        anchor = (before - 1) // per_screen + 1 if before else 1
        if not document["page_count"] and anchor == screen:
            shown.append(document)
        before += document["page_count"]
    return shown


def reading_index(box: Box, page_id: int) -> int:
    """The page's place (from 0) in its dossier's reading order, to find its grid screen."""
    place = db_pages.page_place(box.db, page_id)
    if place is None:
        raise NotFoundError(f"no page {page_id}", message_vi="Không có trang này trong hồ sơ.")
    return db_pages.pages_before(box.db, place["dossier_id"], place["document_seq"],
                                 place["position"])


def detected_corners(box: Box, page: dict[str, Any], size: tuple[int, int]) -> list[list[float]] | None:
    """Where the page detector finds the paper in the page's capture frame (`size` is the
    frame's width and height, see `source_size`), for the corners editor to start from when
    no corners are known; None when it finds none."""
    picture = small_frame(box.blobs.path(page["raw_sha256"]), page["frame"], _DETECT_SIDE)
    picture.thumbnail((_DETECT_SIDE, _DETECT_SIDE))
    small = cv2.cvtColor(np.asarray(picture), cv2.COLOR_RGB2BGR)
    found = detect_page(small)
    if not found.found:
        log.info("page %d: no page found for the corners editor (%s)", page["id"], found.reason)
        return None
    scale = size[0] / small.shape[1]
    return [[round(float(x) * scale, 1), round(float(y) * scale, 1)] for x, y in found.quad]


def restore_page(box: Box, deleted_id: int, *, actor: str) -> dict[str, Any]:
    """Put a deleted page (`deleted_pages.id`) back at the end of its document, or of the
    dossier's last document when its own is gone, with its text correction; only while the
    dossier is editable. A page that was not processed is queued again. Returns its place."""
    # Imported here so that this function stays one self-contained addition to the module.
    from device.catalog.corrections import searchable_text
    from device.db.search import index_page_text

    with transaction(box.db):
        kept = db_pages.deleted_page(box.db, deleted_id)
        if kept is None:
            raise NotFoundError(f"no deleted page {deleted_id}",
                                message_vi="Không có trang đã xóa này để khôi phục.")
        dossier = records.dossier_by_id(box.db, kept["dossier_id"])
        lifecycle.require_editable(dossier["state"])
        documents = records.documents_of(box.db, dossier["id"])
        own = [d for d in documents if d["id"] == kept["page"]["document_id"]]
        document_id = own[0]["id"] if own else documents[-1]["id"] if documents else \
            db_pages.insert_document_at(box.db, dossier["id"], 1)
        page_id = db_pages.put_back_page(box.db, deleted_id, document_id)
        page = db_pages.page_by_id(box.db, page_id)
        if page["state"] == "processed":
            index_page_text(box.db, page_id, searchable_text(
                box, page_id, page["ocr_text"] or "", page["hocr_sha256"]))
        else:
            _reprocess(box, page_id)
        place = db_pages.page_place(box.db, page_id)
        record_event(box.db, actor, "page.restore", "page", page_id, {
            "docId": doc_id(place["file_code"], place["document_seq"]),
            "position": place["position"], "deletedId": deleted_id,
            "formerId": kept["page_id"], "captureId": page["capture_id"],
            "correction": kept["page"].get("text_correction") is not None})
    log.info("page %d put back at %s position %d (deleted page %d)", page_id,
             doc_id(place["file_code"], place["document_seq"]), place["position"], deleted_id)
    return place
