"""Runs one page image through the stages in order: QC, page geometry, cleanup, OCR, encoding.

Geometric stages (rectify, orientation, deskew, border crop) act on the colour master, so the
master and the OCR image keep one geometry and the OCR's word boxes fit the master. The
photometric ones (illumination, despeckle) make the separate grey OCR image only.
"""

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
from device.imaging.cleanup import BorderCropParams, DespeckleParams, crop_border, despeckle
from device.imaging.deskew import DeskewParams, deskew
from device.imaging.dewarp import DewarpParams, dewarp
from device.imaging.illumination import IlluminationParams, flatten
from device.imaging.orientation import OrientationParams, orient
from device.imaging.page import PageDetection, detect_page
from device.imaging.quality import QcParams, assess, check_skew
from device.imaging.rectify import RectifyParams, flag_low_dpi, rectify
from device.imaging.stages import StageResult

if TYPE_CHECKING:  # importing the engine loads Tesseract
    from device.ocr.engine import OcrEngine, OcrResult

log = logging.getLogger(__name__)

DEFAULT_DPI = 300.0  # a flat scan without a resolution in its metadata
#: Cleanup stages a caller may switch off (`PipelineParams.skip`), e.g. to measure what they give.
OPTIONAL_STAGES = frozenset({"orientation", "dewarp", "deskew", "border_crop", "illumination", "despeckle"})
#: The OCR image as PNG: no row filter but "up" and run-length deflate. Its paper is pure white
#: after flattening, so this is ~18 ms and ~0.8 MB for a 12 MP photo's page (zlib's defaults:
#: ~45 ms, about the same size).
_PNG_OPTIONS = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE,
                cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]


@dataclass(frozen=True)
class PipelineParams:
    """Settings of every stage, and of the master JPEG (page detection: `qc.page`)."""

    rectify: RectifyParams = field(default_factory=RectifyParams)
    qc: QcParams = field(default_factory=QcParams)
    orientation: OrientationParams = field(default_factory=OrientationParams)
    dewarp: DewarpParams = field(default_factory=DewarpParams)
    deskew: DeskewParams = field(default_factory=DeskewParams)
    border: BorderCropParams = field(default_factory=BorderCropParams)
    illumination: IlluminationParams = field(default_factory=IlluminationParams)
    despeckle: DespeckleParams = field(default_factory=DespeckleParams)
    skip: frozenset[str] = frozenset()  # names from OPTIONAL_STAGES not to run
    jpeg_quality: int = 90
    low_dpi_floor: float = 200.0

    def __post_init__(self) -> None:
        unknown = set(self.skip) - OPTIONAL_STAGES
        if unknown:
            raise InputError(f"cannot skip stage(s) {', '.join(sorted(unknown))}; "
                             f"optional: {', '.join(sorted(OPTIONAL_STAGES))}")


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
    ocr_image_png: bytes = b""  # the grey (flattened, cleaned) image OCR read, PNG
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> applied/reason/details

    def as_json(self) -> dict[str, Any]:
        """The page's sidecar record (everything but the pixels and the word boxes)."""
        return {"page_quad": self.page_quad, "dpi": self.dpi, "qc": self.qc, "ocr": self.ocr,
                "rectify_reason": self.rectify_reason, "stages": self.stages,
                "timings_ms": self.timings_ms}


@dataclass
class _Work:
    """The runner's scratch state for one page (the stages themselves are pure)."""

    image: np.ndarray
    engine: OcrEngine
    params: PipelineParams
    source_dpi: float | None
    flat: bool = False
    given_quad: np.ndarray | None = None  # the page's quad from the capture (one half of a spread)
    turn: int = 0  # degrees clockwise an operator asked for, on top of the automatic orientation
    detection: PageDetection | None = None
    page: np.ndarray | None = None  # the colour master as it goes through the geometric stages
    quad: list[list[float]] | None = None
    dpi: float = DEFAULT_DPI
    reason: str = ""
    grey: np.ndarray | None = None  # the OCR image
    qc: list[dict[str, Any]] = field(default_factory=list)
    result: OcrResult | None = None
    jpeg: bytes = b""
    png: bytes = b""
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)

    def record(self, name: str, stage: StageResult) -> np.ndarray:
        """Keep what a stage did for the page's record; return its image."""
        self.stages[name] = {"applied": stage.applied, "reason": stage.reason, "details": dict(stage.details)}
        return stage.image

    def skipped(self, name: str) -> bool:
        if name in self.params.skip:
            self.stages[name] = {"applied": False, "reason": "pipeline.skipped", "details": {}}
            return True
        return False


def _qc(work: _Work) -> None:
    verdict = assess(work.image, params=work.params.qc)
    work.qc = [f.as_dict() for f in verdict.flags]
    if work.given_quad is None:
        work.detection = verdict.page  # QC had to find the page; its quad is in input pixels
        return
    # The page was found in the whole capture (one half of an open register): QC's own
    # detection in this cut-out does not count. Skew is judged on the given quad; cut-off
    # cannot be judged here (the gutter side runs on into the facing page), the shutter judged
    # it on the whole capture; there is a page, so no no_page flag.
    work.detection = PageDetection(work.given_quad, 1.0, "", "capture")
    skew = check_skew(work.given_quad, work.params.qc).as_dict()
    cutoff = {"key": "cutoff", "flagged": False, "score": 0.0, "reason_key": "qc.cutoff"}
    work.qc = [skew if f["key"] == "skew" else cutoff if f["key"] == "cutoff" else f
               for f in work.qc if f["key"] != "no_page"]


def _detect(work: _Work) -> None:
    # Finding the page costs ~50 ms on a 12 MP frame: reuse QC's answer (or the given quad).
    if work.detection is None and not work.flat:
        work.detection = detect_page(work.image, work.params.qc.page)


def _rectify(work: _Work) -> None:
    if work.flat:
        stage = StageResult(work.image, False, "rectify.flat_source")
    else:
        stage = rectify(work.image, work.detection.quad if work.detection else None, work.params.rectify)
    work.page, work.reason = work.record("rectify", stage), stage.reason
    work.stages["rectify"]["details"]["quad_from"] = (
        "capture" if work.given_quad is not None else "none" if work.flat else "detector")
    if stage.applied:
        work.quad, work.dpi = stage.details["quad"], stage.details["dpi"]
        work.qc.append(flag_low_dpi(work.dpi, work.params.low_dpi_floor).as_dict())
    else:
        # No page boundary: a flat scan (the page fills the frame) is its own master.
        work.dpi = float(work.source_dpi or DEFAULT_DPI)


_TURNS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def _operator_turn(work: _Work) -> None:
    # After the automatic orientation, which would otherwise undo a turn put into its input.
    if work.turn:
        work.page = cv2.rotate(work.page, _TURNS[work.turn])
        work.stages["operator_turn"] = {"degrees": work.turn}


def _dewarp(work: _Work) -> None:
    # Straightens the curled lines of a bound page; a flat page is left as it is (dewarp.flat).
    if not work.skipped("dewarp"):
        work.page = work.record("dewarp", dewarp(work.page, work.params.dewarp))


def _orientation(work: _Work) -> None:
    if not work.skipped("orientation"):
        work.page = work.record("orientation", orient(work.page, work.params.orientation))


def _deskew(work: _Work) -> None:
    if not work.skipped("deskew"):
        work.page = work.record("deskew", deskew(work.page, work.params.deskew))


def _border_crop(work: _Work) -> None:
    if not work.skipped("border_crop"):
        work.page = work.record("border_crop", crop_border(work.page, work.params.border))


def _illumination(work: _Work) -> None:
    grey = work.page
    if not work.skipped("illumination"):
        grey = work.record("illumination", flatten(work.page, work.params.illumination))
    work.grey = grey if grey.ndim == 2 else cv2.cvtColor(grey, cv2.COLOR_BGR2GRAY)


def _despeckle(work: _Work) -> None:
    if not work.skipped("despeckle"):
        work.grey = work.record("despeckle", despeckle(work.grey, work.params.despeckle, work.dpi))


def _ocr(work: _Work) -> None:
    work.result = work.engine.recognize(work.grey, dpi=int(round(work.dpi)))


def _encode(work: _Work) -> None:
    ok, buffer = cv2.imencode(".jpg", work.page, [cv2.IMWRITE_JPEG_QUALITY, work.params.jpeg_quality])
    if not ok:
        raise InputError("the page master could not be encoded as JPEG")
    work.jpeg = buffer.tobytes()


def _encode_ocr_image(work: _Work) -> None:
    ok, buffer = cv2.imencode(".png", work.grey, _PNG_OPTIONS)
    if not ok:
        raise InputError("the OCR image could not be encoded as PNG")
    work.png = buffer.tobytes()


#: The stages, in the order they run.
STAGES: tuple[tuple[str, Callable[[_Work], None]], ...] = (
    ("qc", _qc),
    # An open register's two pages are split at capture time (device.imaging.spread); each
    # page then comes here with its quad (`page_quad`), which replaces the detection.
    ("detect_page", _detect),
    ("rectify", _rectify),
    # Before deskew: the desk left between a page quad and the paper's edge runs along the
    # image's edges only until the page is turned; then it is a diagonal sliver no crop takes.
    ("border_crop", _border_crop),
    ("orientation", _orientation),
    ("operator_turn", _operator_turn),  # a turn the operator set in the page grid
    # After orientation (it models horizontal text lines), before deskew (it leaves the tilt).
    ("dewarp", _dewarp),
    ("deskew", _deskew),
    ("illumination", _illumination),  # makes the grey OCR image; the master keeps its light
    ("despeckle", _despeckle),
    ("ocr", _ocr),
    ("encode", _encode),
    ("encode_ocr_image", _encode_ocr_image),
)


def process_image(image: np.ndarray, *, engine: OcrEngine, params: PipelineParams = PipelineParams(),
                  source_dpi: float | None = None, flat: bool = False,
                  page_quad: np.ndarray | list | None = None, turn: int = 0) -> PageOutcome:
    """One page image (BGR or grey uint8) to its master, dpi, QC flags and OCR text.
    `source_dpi` is the resolution the file declares, used when no page boundary is found.
    `flat`: the source is a flat scan (a scanner, not a camera over a desk), so the page is
    not looked for or rectified; orientation, deskew and the cleanup still run.
    `page_quad`: the page's corners (TL, TR, BR, BL in `image`'s pixels) when the caller
    found them, e.g. one page of an open register split at capture: it is rectified instead
    of a detected page (QC's cut-off and skew judgement use it too, see `_qc`).
    `turn`: 0, 90, 180 or 270 degrees clockwise set by an operator, applied after the
    automatic orientation."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise InputError("a page image must be an 8-bit grey or BGR array")
    quad = None
    if page_quad is not None and not flat:
        quad = np.asarray(page_quad, np.float32)
        if quad.shape != (4, 2) or not np.isfinite(quad).all():
            raise InputError(f"a page quad must be four (x, y) corners, not {page_quad!r}")
    if turn not in (0, *_TURNS):
        raise InputError(f"a page turns by 0, 90, 180 or 270 degrees, not {turn!r}")
    work = _Work(image, engine, params, source_dpi, flat, quad, turn)
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
                       unicodedata.normalize("NFC", result.text), timings, result, work.reason,
                       work.png, work.stages)
