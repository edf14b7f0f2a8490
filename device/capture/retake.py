"""Retakes: one shot that replaces an existing page's capture instead of adding a page.

The page keeps its id, position, side and document; the new capture becomes its source, the
old capture stays stored (raw captures are never deleted), the page's processed results (QC
flags, OCR text, its search entry) are cleared and it is queued for processing again, all in
the transaction that records the capture and a `page.retake` event naming the actor (what
fired the shot) and, for a retake armed beforehand, who armed it (`armed_by`).

A retake is always one page a shot, whatever the target's layout: for an open register, the
operator frames the one page being replaced.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from typing import TYPE_CHECKING

from device.box import Box
from device.catalog.dossiers import load
from device.db import transaction
from device.db.events import record_event
from device.db.jobs import enqueue
from device.db.pages import fingerprint_before, page_place, record_capture, replace_capture
from device.db.search import index_page_text
from device.errors import InputError, NotFoundError, StateError
from device.intake import PROCESS_PAGE
from device.records import lifecycle
from device.records.identifiers import doc_id

if TYPE_CHECKING:
    from device.capture.camera import Camera
    from device.capture.shoot import ShotResult
    from device.imaging.quality import HandDetector, QcParams

log = logging.getLogger(__name__)


def check_retake(box: Box, file_code: str, page_id: object) -> dict[str, Any]:
    """The place of page `page_id` (see `page_place`) if it may be retaken into dossier
    `file_code`: it exists, belongs to that dossier, and the dossier is editable. Raises
    InputError, NotFoundError or StateError (with Vietnamese messages) otherwise."""
    if isinstance(page_id, bool) or not isinstance(page_id, int) or page_id < 1:
        raise InputError(f"retake must be a page id (a whole number from 1), not {page_id!r}",
                         message_vi="Số trang cần chụp lại không hợp lệ.")
    place = page_place(box.db, page_id)
    if place is None:
        raise NotFoundError(f"no page {page_id}", message_vi=f"Không có trang số {page_id}.")
    if place["file_code"] != file_code:
        raise StateError(f"page {page_id} belongs to dossier {place['file_code']}, not to the "
                         f"target {file_code}; aim at that dossier to retake it",
                         message_vi=f"Trang này thuộc hồ sơ {place['file_code']}, không phải hồ sơ "
                                    f"đang chụp ({file_code}); hãy chọn hồ sơ đó để chụp lại.")
    lifecycle.require_editable(load(box, file_code)["state"])
    return place


def retake(box: Box, camera: Camera, file_code: str, page_id: int, *, actor: str,
           hand_detector: HandDetector | None, params: QcParams | None = None,
           armed_by: str | None = None) -> ShotResult:
    """Shoot page `page_id` of dossier `file_code` again (checked first: nothing is shot when
    it may not be retaken); returns the shot once it is durable and committed. `actor` fired
    the shot; `armed_by`, who armed the retake when the shot was not theirs to aim."""
    # OpenCV and the QC models load only when shooting (the web UI imports `check_retake`).
    from device.capture.shoot import (_ESTIMATED_BYTES_PER_PIXEL, ShotResult, check_capture,
                                      encode_jpeg, verdict_json)
    from device.imaging.quality import QcParams, assess

    place = check_retake(box, file_code, page_id)
    width, height = camera.capabilities.max_resolution
    box.blobs.ensure_space(int(width * height * _ESTIMATED_BYTES_PER_PIXEL))
    started = time.perf_counter()
    capture = camera.capture()
    image = check_capture(capture, camera.capabilities.name)
    data = encode_jpeg(image)
    previous = fingerprint_before(box.db, place["document_id"], place["position"])
    verdict = assess(image, previous, params or QcParams(), hand_detector=hand_detector)
    sha256 = box.blobs.put(data)
    height, width = image.shape[:2]
    with transaction(box.db):
        place = check_retake(box, file_code, page_id)  # again, under the write lock
        capture_id = record_capture(
            box.db, raw_sha256=sha256, media_type="image/jpeg",
            source=f"camera:{capture.camera_name}", dossier_id=place["dossier_id"], width=width,
            height=height, qc=verdict_json(verdict) | {"retake_of": page_id})
        replaced = replace_capture(box.db, page_id, capture_id)
        index_page_text(box.db, page_id, None)
        enqueue(box.db, PROCESS_PAGE, f"page:{page_id}", box.config.settings.jobs.max_attempts)
        document_text = doc_id(file_code, place["document_seq"])
        details = {"docId": document_text, "position": place["position"], "capture": capture_id,
                   "replaced_capture": replaced, "sha256": sha256, "qc": verdict.reasons}
        if armed_by is not None:
            details |= {"armed_by": armed_by, "fired_by": actor}
        record_event(box.db, actor, "page.retake", "page", page_id, details)
    total_ms = round((time.perf_counter() - started) * 1000.0, 2)
    log.info("page %d (%s, position %d) retaken: capture %d replaces %s, qc %s, %.0f ms", page_id,
             document_text, place["position"], capture_id, replaced,
             ", ".join(verdict.reasons) or "ok", total_ms)
    return ShotResult(page_id, capture_id, document_text, sha256,
                      tuple(flag for flag in verdict.flags if flag.flagged),
                      timings_ms={"total_ms": total_ms}, position=place["position"])
