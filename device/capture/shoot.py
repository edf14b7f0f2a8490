"""Shooting pages into a dossier: capture, JPEG, QC at the shutter, durable blob, one commit per shot."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from device.box import Box
from device.capture.camera import Camera, CameraError, Capture
from device.capture.simulated import SimulatedCamera
from device.catalog.documents import new_document
from device.catalog.dossiers import load
from device.db import records, transaction
from device.db.events import record_event
from device.db.jobs import enqueue
from device.db.pages import NewPage, add_pages, last_capture_fingerprint, page_by_id, record_capture
from device.errors import InputError, NotFoundError
from device.imaging.quality import (HandDetector, QcFlag, QcParams, QcVerdict, assess, default_hand_detector,
                                    spread_not_found)
from device.intake import PROCESS_PAGE
from device.records import lifecycle
from device.records.identifiers import doc_id
from device.records.sheets import spread_sides

log = logging.getLogger(__name__)

JPEG_QUALITY = 92  # keeps text edges (DESIGN.md, Formats); a 12 MP page photo is ~1.5 MB
# Room asked of the blob store before the first shot: a q92 page photo measures ~0.13 bytes
# per pixel; 0.5 leaves room for busy pages (newsprint, maps) without under-asking.
_ESTIMATED_BYTES_PER_PIXEL = 0.5
MAX_SHOTS = 1000  # one call; a longer run is a sign of a wrong --count
#: What one shot holds: one page, or an open register's two facing pages ("spread").
LAYOUTS = ("page", "spread")


@dataclass(frozen=True)
class ShotResult:
    """One stored shot, reported only after its commit: what was stored and how long it took.
    A split open register is two pages (left, then right); `page_id` and `position` are the
    first one's."""

    page_id: int
    capture_id: int
    doc_id: str
    sha256: str
    flags: tuple[QcFlag, ...]  # only the checks that fired
    timings_ms: dict[str, float] = field(default_factory=dict)
    position: int = 0  # the (first) page's place in its document, from 1
    page_ids: tuple[int, ...] = ()  # every page of the shot, in order (empty: just page_id)
    document_id: int | None = None  # the document's row id (its seq may change; the id does not)

    @property
    def ok(self) -> bool:
        return not self.flags

    @property
    def pages(self) -> tuple[int, ...]:
        return self.page_ids or (self.page_id,)

    @property
    def last_position(self) -> int:
        return self.position + len(self.pages) - 1

    def as_dict(self) -> dict[str, Any]:
        return {"page": self.page_id, "pages": list(self.pages), "capture": self.capture_id,
                "docId": self.doc_id, "position": self.position, "sha256": self.sha256,
                "ok": self.ok, "flags": [flag.as_dict() for flag in self.flags],
                "timings_ms": self.timings_ms}


def verdict_json(verdict: QcVerdict) -> dict[str, Any]:
    """The QC verdict as stored with the capture (the next shot's duplicate check reads the fingerprint)."""
    return {"ok": verdict.ok, "flags": [flag.as_dict() for flag in verdict.flags],
            "fingerprint": verdict.fingerprint}


def encode_jpeg(image: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """The frame as JPEG bytes; CameraError if OpenCV cannot encode it."""
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise CameraError(f"the frame ({image.shape}, {image.dtype}) could not be encoded as JPEG")
    return buffer.tobytes()


def check_capture(capture: object, camera_name: str) -> np.ndarray:
    """The capture's pixels if they are a BGR uint8 frame; a clear CameraError otherwise."""
    image = capture.image if isinstance(capture, Capture) else None
    if image is None:
        raise CameraError(f"camera {camera_name!r} returned no frame; nothing was stored for this "
                          "shot (check the cable and restart the capture service)",
                          message_vi="Máy ảnh không trả về ảnh; ảnh này chưa được lưu.")
    if (not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3
            or image.shape[2] != 3 or min(image.shape[:2]) < 64):
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", type(image).__name__)
        raise CameraError(f"camera {camera_name!r} returned a frame of shape {shape} and type "
                          f"{dtype}; expected height×width×3 uint8 (BGR), at least 64 px a side; "
                          "nothing was stored for this shot",
                          message_vi="Máy ảnh trả về ảnh không hợp lệ; ảnh này chưa được lưu.")
    return image


def current_document(box: Box, dossier: dict, document_id: int) -> dict[str, Any]:
    """The dossier's document whose row id is `document_id`, with its seq as of now (a split
    or merge renumbers documents; the id stays). NotFoundError when it was merged away or
    removed: shots are refused then, never sent to whatever document now has its old number."""
    row = next((row for row in records.documents_of(box.db, dossier["id"])
                if int(row["id"]) == document_id), None)
    if row is None:
        raise NotFoundError(
            f"the document chosen for capture in dossier {dossier['file_code']} no longer exists "
            "(merged into another or removed); nothing was shot: choose the document again",
            message_vi="Tài liệu đang chọn để chụp không còn nữa (đã gộp vào tài liệu khác hoặc "
                       "bị xóa); chưa chụp trang nào. Hãy chọn lại tài liệu.",
            message_en="The document chosen for capture no longer exists (merged into another or "
                       "removed); nothing was shot. Choose the document again.")
    return row


def _refuse_early(box: Box, camera: Camera, file_code: str, count: int, defect: str | None,
                  seq: int | None, layout: str,
                  document_id: int | None = None) -> tuple[dict, tuple[int, int] | None]:
    """Every check that can be made before the first shot; returns the dossier and the
    (id, seq) of the existing document to append to (None: the first shot makes a new one).
    `document_id`, when given, names that document (`seq` is then ignored)."""
    if not 1 <= count <= MAX_SHOTS:
        raise InputError(f"count must be between 1 and {MAX_SHOTS}, not {count}")
    if layout not in LAYOUTS:
        raise InputError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}",
                         message_vi="Kiểu chụp phải là một trang (page) hoặc sổ mở (spread).")
    if defect is not None and not isinstance(camera, SimulatedCamera):
        raise InputError("defects can only be asked of the simulated camera")
    dossier = load(box, file_code)
    lifecycle.require_editable(dossier["state"])
    document = None
    if document_id is not None:
        row = current_document(box, dossier, document_id)
        document = (document_id, int(row["seq"]))
    elif seq is not None:
        row = records.document_by_seq(box.db, dossier["id"], seq)
        if row is None:
            text = doc_id(dossier["file_code"], seq)
            raise NotFoundError(f"no document {text!r}", message_vi=f"Không có tài liệu “{text}”")
        document = (int(row["id"]), seq)
    width, height = camera.capabilities.max_resolution
    box.blobs.ensure_space(int(width * height * _ESTIMATED_BYTES_PER_PIXEL) * count)
    return dossier, document


def shoot(box: Box, camera: Camera, file_code: str, *, count: int, actor: str,
          document: int | None = None, defect: str | None = None,
          hand_detector: HandDetector | None = None, layout: str = "page") -> list[ShotResult]:
    """Take `count` shots into a new document of dossier `file_code`, or appended to its
    existing document `document` (see `iter_shots`)."""
    return list(iter_shots(box, camera, file_code, count=count, actor=actor, document=document,
                           defect=defect, hand_detector=hand_detector, layout=layout))


def iter_shots(box: Box, camera: Camera, file_code: str, *, count: int, actor: str,
               document: int | None = None, defect: str | None = None,
               hand_detector: HandDetector | None = None,
               params: QcParams = QcParams(), layout: str = "page",
               document_id: int | None = None) -> Iterator[ShotResult]:
    """Check at once that the run may start, then yield each shot once it is durable and
    committed, so that it can be acknowledged at once.

    The camera must be started before the first shot is asked for (the caller owns its
    lifecycle). With `document` (a seq of the dossier) every shot is appended to that
    existing document; without it the first shot creates a new document and the others are
    appended to it. `document_id` (a document's row id, which a split or merge does not
    change) names the document instead of `document`. A camera failure stops the run: the
    shots already yielded stay stored, the failed one stores nothing. `defect` (simulated camera only) is applied to every shot.
    `layout` "spread": each shot is an open register, split at the shutter into its left and
    right pages (one capture, two pages); one that does not split is one page flagged
    qc.spread_not_found, to be retaken.
    """
    dossier, existing = _refuse_early(box, camera, file_code, count, defect, document, layout,
                                      document_id)
    detector = hand_detector if hand_detector is not None else default_hand_detector()
    return _shots(box, camera, dossier, existing, count, actor, defect, detector, params, layout)


def _split_pages(image: np.ndarray, verdict: QcVerdict, layout: str) -> tuple[list[NewPage], QcVerdict, dict]:
    """The pages a shot holds, its verdict (with qc.spread_not_found when an open register did
    not split) and what the splitter found, for the capture's record."""
    if layout != "spread":
        return [NewPage()], verdict, {}
    from device.imaging.spread import split_spread  # only when shooting registers

    split = split_spread(image, detection=verdict.page)
    record = {"applied": split.applied, "reason": split.reason, "details": split.details}
    if not split.applied:
        flag = spread_not_found(split.reason)
        return [NewPage()], replace(verdict, flags=(*verdict.flags, flag)), record
    sides = spread_sides(len(split.pages))
    pages = [NewPage(side=side, region=[[round(float(x), 2), round(float(y), 2)] for x, y in quad])
             for side, quad in zip(sides, split.pages, strict=True)]
    return pages, verdict, record


def _shots(box: Box, camera: Camera, dossier: dict, document: tuple[int, int] | None, count: int,
           actor: str, defect: str | None, detector: HandDetector | None,
           params: QcParams, layout: str) -> Iterator[ShotResult]:
    name = camera.capabilities.name
    # `document` is (id, seq) of the document being filled; None until the first shot makes it.
    # A page shot twice is a duplicate even across two runs (the pedal pressed again later).
    previous = last_capture_fingerprint(box.db, dossier["id"])
    for index in range(count):
        times: dict[str, float] = {}
        started = time.perf_counter()
        capture = (camera.capture(defects=defect)  # type: ignore[call-arg]
                   if defect is not None else camera.capture())
        image = check_capture(capture, name)
        times["capture_ms"] = _lap(started)
        data = encode_jpeg(image)
        times["encode_ms"] = _lap(started, times)
        verdict = assess(image, previous, params, hand_detector=detector)
        previous = verdict.fingerprint
        times["qc_ms"] = _lap(started, times)
        pages, verdict, split = _split_pages(image, verdict, layout)
        if layout == "spread":
            times["split_ms"] = _lap(started, times)
        sha256 = box.blobs.put(data)
        times["store_ms"] = _lap(started, times)
        result, document = _record_shot(box, dossier, document, capture, image, sha256, verdict,
                                        actor, pages, split)
        times["commit_ms"] = _lap(started, times)
        times["total_ms"] = round((time.perf_counter() - started) * 1000.0, 2)
        log.info("page %s (%s, shot %d/%d): stored, qc %s, %.0f ms",
                 "+".join(map(str, result.pages)), result.doc_id, index + 1, count,
                 ", ".join(verdict.reasons) or "ok", times["total_ms"])
        yield replace(result, flags=tuple(flag for flag in verdict.flags if flag.flagged), timings_ms=times)


def _lap(started: float, times: dict[str, float] | None = None) -> float:
    """Milliseconds since `started` minus the steps already timed."""
    spent = sum((times or {}).values())
    return round((time.perf_counter() - started) * 1000.0 - spent, 2)


def _record_shot(box: Box, dossier: dict, document: tuple[int, int] | None, capture: Capture,
                 image: np.ndarray, sha256: str, verdict: QcVerdict, actor: str,
                 pages: list[NewPage], split: dict) -> tuple[ShotResult, tuple[int, int]]:
    """One transaction, after the blob is durable: capture, its pages, their jobs and events."""
    with transaction(box.db):
        dossier = load(box, dossier["file_code"])  # re-read under the write lock
        lifecycle.require_editable(dossier["state"])
        if document is None:
            document = new_document(box, dossier, actor=actor)
        else:  # by id: a split or merge since the last shot may have renumbered it
            document = (document[0], int(current_document(box, dossier, document[0])["seq"]))
        height, width = image.shape[:2]
        qc = verdict_json(verdict) | ({"spread": split} if split else {})
        capture_id = record_capture(
            box.db, raw_sha256=sha256, media_type="image/jpeg",
            source=f"camera:{capture.camera_name}", dossier_id=dossier["id"], width=width, height=height, qc=qc)
        page_ids = add_pages(box.db, document[0], capture_id, pages)
        position = int(page_by_id(box.db, page_ids[0])["position"])  # type: ignore[index]
        document_text = doc_id(dossier["file_code"], document[1])
        for page_id, page in zip(page_ids, pages, strict=True):
            enqueue(box.db, PROCESS_PAGE, f"page:{page_id}", box.config.settings.jobs.max_attempts)
            record_event(box.db, actor, "page.capture", "page", page_id,
                         {"docId": document_text, "capture": capture_id, "sha256": sha256,
                          "side": page.side, "qc": verdict.reasons})
    return ShotResult(page_ids[0], capture_id, document_text, sha256, (), position=position,
                      page_ids=tuple(page_ids), document_id=document[0]), document

