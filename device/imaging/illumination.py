"""Flattens uneven light and shadows into the grey image OCR reads; the colour master keeps its light.

The paper's brightness under the room's light (gradient, vignetting, the operator's shadow) is
estimated on a copy reduced to ~1 px per mm: a morphological close wider than any letter
removes the text, a median smooths what is left. The page divided by that background is
paper at white everywhere and ink at its contrast to the paper around it, so a shadowed
paragraph reads like a lit one.

Only the OCR image is flattened. The master is the archival record of the page as it was
photographed; flattening it would also cost ~3x as much (three channels), and the colour JPEG
would change tones the reader may rely on (stamps, signatures, faded ink). See `flatten`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np

from device.imaging.stages import StageResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IlluminationParams:
    """Sizes are fractions of the page's long side, so they hold at any resolution (A4: 1% ~ 3 mm)."""

    work_long_side: int = 320  # the background is smooth: ~1 px per mm of an A4 page is plenty
    close_fraction: float = 0.02  # wider than a 14 pt bold letter (~6 mm on A4): text vanishes
    median_fraction: float = 0.03  # then smoothed, so a table rule or a stamp fades into paper
    white: int = 255  # the level paper is brought to
    # Paper within `noise_sigmas` of its own grain noise below white becomes pure white (never
    # more than down to `white_point`): the grain and the sensor's noise would otherwise fill
    # the OCR image (a 2.4-2.8 MB PNG and 56-100 ms to encode on a 12 MP photo's page; ~0.8 MB
    # and ~18 ms without them), and they are nothing Tesseract needs. A noise-free scan is left
    # exactly as it is. A clamp, not a stretch: stretching the levels thinned anti-aliased
    # strokes enough to lose the tone marks of a bold title on a clean page (CER 0.14 -> 1.43%).
    white_point: float = 0.95
    noise_sigmas: float = 4.0
    min_paper_level: int = 24  # a background darker than this is not lit paper: left alone


def _odd(n: float) -> int:
    return max(3, int(round(n)) | 1)


def background(grey: np.ndarray, params: IlluminationParams = IlluminationParams()) -> np.ndarray:
    """The paper's brightness without the ink, at the size of `grey` (uint8)."""
    h, w = grey.shape
    step = max(1, math.ceil(max(h, w) / params.work_long_side))
    small = grey
    if step > 1:
        small = cv2.resize(grey[: h // step * step, : w // step * step], (w // step, h // step),
                           interpolation=cv2.INTER_AREA)
    long_side = max(small.shape)
    k = _odd(params.close_fraction * long_side)
    paper = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)),
                             borderType=cv2.BORDER_REPLICATE)
    paper = cv2.medianBlur(paper, min(_odd(params.median_fraction * long_side), 255))
    return cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR)


def flatten(image: np.ndarray, params: IlluminationParams = IlluminationParams()) -> StageResult:
    """The OCR image: the page in grey (uint8), divided by its paper's brightness so the paper
    is white throughout (the input, unchanged, when it cannot). details: `paper_min`,
    `paper_max` (the range of the paper's brightness it found)."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3) \
            or min(image.shape[:2]) < 16:
        return StageResult(image, False, "illumination.bad_input", {})
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    paper = background(grey, params)
    low, high = (int(v) for v in cv2.minMaxLoc(paper)[:2])
    details = {"paper_min": low, "paper_max": high}
    if high < params.min_paper_level:
        # An all-dark frame: dividing would turn sensor noise into "text".
        return StageResult(image, False, "illumination.no_paper", details)
    np.maximum(paper, params.min_paper_level, out=paper)
    flat = cv2.divide(grey, paper, scale=float(params.white))
    sigma = paper_noise(flat, params.white)
    level = max(params.white_point * params.white, params.white - params.noise_sigmas * sigma)
    details["paper_noise"] = round(sigma, 2)
    if level < params.white:
        _, whiten = cv2.threshold(flat, level, 255, cv2.THRESH_BINARY)
        flat = cv2.max(flat, whiten)
    return StageResult(flat, True, "", details)


def paper_noise(flat: np.ndarray, white: int = 255) -> float:
    """The grain of flattened paper in grey levels: how far its 16th percentile lies below its
    median (one sigma of the lower half; the upper half is clipped at white). A sparse sample."""
    step = max(1, max(flat.shape) // 512)
    sample = flat[::step, ::step]
    paper = sample[sample >= 0.8 * white]
    if paper.size < 100:
        return 0.0
    low, mid = np.percentile(paper, (16, 50))
    return float(mid - low)
