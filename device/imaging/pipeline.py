"""Runs one page image through the stages in order: QC, page detection, rectification, OCR."""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from device.errors import InputError
from device.imaging.page import PageDetection, detect_page
from device.imaging.quality import QcParams, assess
from device.imaging.rectify import RectifyParams, flag_low_dpi, rectify

if TYPE_CHECKING:  # importing the engine loads Tesseract
    from device.ocr.engine import OcrEngine, OcrResult

log = logging.getLogger(__name__)

DEFAULT_DPI = 300.0  # a flat scan without a resolution in its metadata


@dataclass(frozen=True)
class PipelineParams:
    """Settings of every stage, and of the master JPEG (page detection: `qc.page`)."""

    rectify: RectifyParams = field(default_factory=RectifyParams)
    qc: QcParams = field(default_factory=QcParams)
    jpeg_quality: int = 90
    low_dpi_floor: float = 200.0


@dataclass(frozen=True, eq=False)
class PageOutcome:
    """What the pipeline made of one page; picklable, so a worker process can return it."""

    master_jpeg: bytes  # the rectified page (or the input for a flat scan), BGR, JPEG
    page_quad: list[list[float]] | None
    dpi: float
    qc: list[dict[str, Any]]
    ocr: dict[str, Any]
    text: str
    timings_ms: dict[str, float]
    ocr_result: OcrResult
    rectify_reason: str = ""

    def as_json(self) -> dict[str, Any]:
        """The page's sidecar record (everything but the pixels and the word boxes)."""
        return {"page_quad": self.page_quad, "dpi": self.dpi, "qc": self.qc, "ocr": self.ocr,
                "rectify_reason": self.rectify_reason, "timings_ms": self.timings_ms}


@dataclass
class _Work:
    """The runner's scratch state for one page (the stages themselves are pure)."""

    image: np.ndarray
    engine: OcrEngine
    params: PipelineParams
    source_dpi: float | None
    detection: PageDetection | None = None
    page: np.ndarray | None = None
    quad: list[list[float]] | None = None
    dpi: float = DEFAULT_DPI
    reason: str = ""
    grey: np.ndarray | None = None
    qc: list[dict[str, Any]] = field(default_factory=list)
    result: OcrResult | None = None
    jpeg: bytes = b""


def _qc(work: _Work) -> None:
    verdict = assess(work.image, params=work.params.qc)
    work.qc = [_flag_dict(f) for f in verdict.flags]
    work.detection = verdict.page  # QC had to find the page; its quad is in input pixels


def _detect(work: _Work) -> None:
    # Finding the page costs ~50 ms on a 12 MP frame: reuse QC's answer when it ran.
    if work.detection is None:
        work.detection = detect_page(work.image, work.params.qc.page)


def _rectify(work: _Work) -> None:
    quad = work.detection.quad if work.detection is not None else None
    stage = rectify(work.image, quad, work.params.rectify)
    work.page, work.reason = stage.image, stage.reason
    if stage.applied:
        work.quad, work.dpi = stage.details["quad"], stage.details["dpi"]
        work.qc.append(_flag_dict(flag_low_dpi(work.dpi, work.params.low_dpi_floor)))
    else:
        # No page boundary: a flat scan (the page fills the frame) is its own master.
        work.dpi = float(work.source_dpi or DEFAULT_DPI)


def _grey(work: _Work) -> None:
    page = work.page
    work.grey = page if page.ndim == 2 else cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)


def _ocr(work: _Work) -> None:
    work.result = work.engine.recognize(work.grey, dpi=int(round(work.dpi)))


def _encode(work: _Work) -> None:
    ok, buffer = cv2.imencode(".jpg", work.page, [cv2.IMWRITE_JPEG_QUALITY, work.params.jpeg_quality])
    if not ok:
        raise InputError("the page master could not be encoded as JPEG")
    work.jpeg = buffer.tobytes()


#: The stages, in the order they run.
STAGES: tuple[tuple[str, Callable[[_Work], None]], ...] = (
    ("qc", _qc),
    ("detect_page", _detect),
    ("rectify", _rectify),
    ("grey", _grey),
    ("ocr", _ocr),
    ("encode", _encode),
)


def _flag_dict(flag: Any) -> dict[str, Any]:
    return {"key": flag.key, "flagged": flag.flagged, "score": round(flag.score, 4),
            "reason_key": flag.reason_key}


def process_image(image: np.ndarray, *, engine: OcrEngine, params: PipelineParams = PipelineParams(),
                  source_dpi: float | None = None) -> PageOutcome:
    """One page image (BGR or grey uint8) to its master, dpi, QC flags and OCR text.
    `source_dpi` is the resolution the file declares, used when no page boundary is found."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise InputError("a page image must be an 8-bit grey or BGR array")
    work = _Work(image, engine, params, source_dpi)
    timings: dict[str, float] = {}
    for name, stage in STAGES:
        start = time.perf_counter()
        stage(work)
        timings[name] = round((time.perf_counter() - start) * 1000.0, 1)
    timings["total"] = round(sum(timings.values()), 1)
    result = work.result
    ocr = {"engine": result.engine, "engine_version": result.engine_version,
           "model_sha256": result.model_sha256, "mean_confidence": result.mean_confidence}
    return PageOutcome(work.jpeg, work.quad, round(work.dpi, 2), work.qc, ocr,
                       unicodedata.normalize("NFC", result.text), timings, result, work.reason)
