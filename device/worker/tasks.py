"""One page in a worker process: raw blob → pipeline → master, OCR image and word boxes as blobs.

The parent sends a picklable `PageTask` (where the raw bytes are and how to read them) and
gets back a picklable `PageDone` (the hashes of what was stored and the page's fields). The
child writes blobs itself (durable before the parent records them) and never opens the
database: the parent alone writes SQLite.
"""

from __future__ import annotations

import io
import logging
import resource
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from device.blobs import BlobStore
from device.imaging.pipeline import PageOutcome, PipelineParams, process_image
from device.imaging.quality import ink_fraction
from device.worker import word_boxes
from device.worker.pool import current_engine
from device.worker.source import crop_region, decode_page

log = logging.getLogger(__name__)

_BLANK_PREVIEW_SIDE = 800  # the master is looked at this small to decide "no ink at all"


@dataclass(frozen=True)
class PageTask:
    """Everything a worker process needs to process one page, without the database."""

    page_id: int
    raw_sha256: str
    media_type: str
    frame: int
    region: list[list[float]] | None
    blob_root: str
    min_free_bytes: int
    max_megapixels: int
    turn: int = 0  # degrees clockwise the operator set in the page grid


@dataclass(frozen=True)
class PageDone:
    """What was stored for one page, and the values of its row."""

    page_id: int
    master_sha256: str
    ocr_image_sha256: str | None  # None while the pipeline gives no separate OCR image
    words_sha256: str
    dpi: float
    qc: list[dict[str, Any]]
    blank: bool
    text: str
    confidence: float
    engine: str
    model_sha256: str
    words: int
    timings_ms: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0


def process_page(task: PageTask) -> PageDone:
    """Read, process and store one page (runs in a worker process)."""
    started = time.perf_counter()
    blobs = BlobStore(Path(task.blob_root), min_free_bytes=task.min_free_bytes)
    data = blobs.read(task.raw_sha256, verify=True)
    image, declared_dpi = decode_page(data, task.media_type, task.frame,
                                      max_pixels=task.max_megapixels * 1_000_000)
    # One page of an open register: only the box around its quad is kept (memory), and the
    # quad, moved into that box, is rectified instead of a page detected in it.
    image, quad = crop_region(image, task.region)
    read_ms = (time.perf_counter() - started) * 1000.0
    outcome = process_image(image, engine=current_engine(), source_dpi=declared_dpi, page_quad=quad,
                            turn=task.turn)
    del image
    qc, blank = blank_checked(outcome)
    stored = time.perf_counter()
    master = blobs.put(outcome.master_jpeg)
    ocr_png = getattr(outcome, "ocr_image_png", b"")
    ocr_image = blobs.put(ocr_png) if ocr_png else None
    words = blobs.put(word_boxes.encode(outcome.ocr_result, outcome.dpi))
    timings = {"read": round(read_ms, 1), **outcome.timings_ms,
               "store": round((time.perf_counter() - stored) * 1000.0, 1)}
    result = outcome.ocr_result
    return PageDone(
        page_id=task.page_id, master_sha256=master, ocr_image_sha256=ocr_image,
        words_sha256=words, dpi=outcome.dpi, qc=qc, blank=blank, text=outcome.text,
        confidence=result.mean_confidence,
        engine=f"{result.engine} {result.engine_version} {result.languages}",
        model_sha256=",".join(f"{lang}:{sha}" for lang, sha in sorted(result.model_sha256.items())),
        words=len(result.words), timings_ms=timings, peak_rss_mb=peak_rss_mb())


def blank_checked(outcome: PageOutcome,
                  params: PipelineParams = PipelineParams()) -> tuple[list[dict[str, Any]], bool]:
    """The QC flags with the blank check settled, and whether the page is blank.

    QC judges blankness on the page it found; with no page boundary (a flat scan, an
    all-black frame) it cannot, so a page where OCR read nothing is measured here, on a small
    copy of its master, with the same ink measure and threshold."""
    flags = [dict(flag) for flag in outcome.qc]
    blank_flag = next((flag for flag in flags if flag["key"] == "blank"), None)
    if blank_flag is not None and blank_flag["flagged"]:
        return flags, True
    if outcome.ocr_result.words:
        return flags, False
    ink = _master_ink(outcome.master_jpeg, params.qc.blank_margin_fraction)
    blank = ink < params.qc.blank_ink_min
    entry = {"key": "blank", "flagged": blank, "score": round(ink, 4), "reason_key": "qc.blank"}
    if blank_flag is None:
        flags.append(entry)
    else:
        blank_flag.update(entry)
    return flags, blank


def _master_ink(jpeg: bytes, margin: float) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(jpeg)) as picture:
            picture.draft("L", (_BLANK_PREVIEW_SIDE, _BLANK_PREVIEW_SIDE))
            picture.thumbnail((_BLANK_PREVIEW_SIDE, _BLANK_PREVIEW_SIDE))
            grey = np.asarray(picture.convert("L"))
    return ink_fraction(grey, margin)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)
