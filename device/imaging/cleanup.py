"""Trims dark desk or scanner-lid margins off a page, and removes isolated specks from the OCR image.

`crop_border` acts on the master and the OCR image alike (they must keep one geometry, since
the PDF places the OCR's word boxes on the master). `despeckle` acts on the OCR image only:
a speck on the master is part of the record.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np

from device.imaging.stages import StageResult

log = logging.getLogger(__name__)

MM_PER_INCH = 25.4


@dataclass(frozen=True)
class BorderCropParams:
    """What counts as a dark margin. Fractions are of the page's side, so they hold at any size."""

    work_long_side: int = 800
    darker_than_paper: float = 0.7  # a pixel below this share of the paper's level is dark
    dark_line_share: float = 0.5  # an edge row or column this dark is desk, not page
    max_crop_fraction: float = 0.1  # never more than this off one side: beyond it is content


def _edge_run(dark_share: np.ndarray, threshold: float, limit: int) -> int:
    """How many lines from the start of `dark_share` are dark, up to `limit`."""
    light = np.flatnonzero(dark_share[:limit] < threshold)
    return int(light[0]) if light.size else limit


def dark_margins(image: np.ndarray, params: BorderCropParams = BorderCropParams()) -> tuple[int, int, int, int]:
    """Widths of the dark margins (left, top, right, bottom) in `image` pixels."""
    h, w = image.shape[:2]
    step = max(1, math.ceil(max(h, w) / params.work_long_side))
    small = image[::step, ::step] if step > 1 else image  # sampling is enough to see a margin
    grey = small if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    sh, sw = grey.shape
    core = grey[sh // 4 : 3 * sh // 4, sw // 4 : 3 * sw // 4]
    paper = float(np.percentile(core, 90))  # the page's blank paper: its brightest tenth
    dark = grey < params.darker_than_paper * paper
    rows, cols = dark.mean(axis=1), dark.mean(axis=0)
    lim_y, lim_x = int(params.max_crop_fraction * sh), int(params.max_crop_fraction * sw)
    share = params.dark_line_share
    runs = (_edge_run(cols, share, lim_x), _edge_run(rows, share, lim_y),
            _edge_run(cols[::-1], share, lim_x), _edge_run(rows[::-1], share, lim_y))
    # Back to full resolution; a margin line partly dark is trimmed too (one sample more).
    left, top, right, bottom = ((r + 1) * step if r else 0 for r in runs)
    return min(left, w), min(top, h), min(right, w), min(bottom, h)


def crop_border(image: np.ndarray, params: BorderCropParams = BorderCropParams()) -> StageResult:
    """The page without the dark strips along its edges. details: `crop` [left, top, right,
    bottom] in pixels taken off each side (all zero when nothing was)."""
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or min(image.shape[:2]) < 32:
        return StageResult(image, False, "border.bad_input", {"crop": [0, 0, 0, 0]})
    left, top, right, bottom = dark_margins(image, params)
    details = {"crop": [left, top, right, bottom]}
    if not any((left, top, right, bottom)):
        return StageResult(image, False, "border.none", details)
    h, w = image.shape[:2]
    if left + right >= w // 2 or top + bottom >= h // 2:
        return StageResult(image, False, "border.too_dark", details)  # a dark page, not margins
    return StageResult(image[top : h - bottom, left : w - right], True, "", details)


@dataclass(frozen=True)
class DespeckleParams:
    """What a speck is, in millimetres on the page (converted with the page's dpi).

    Vietnamese needs care: the dot below (ạ, ệ) and the tone marks are as small as a speck, but
    they sit 0.2-0.5 mm from their letter. A speck is small AND has no other ink within
    `clearance_mm`, so every mark that belongs to a letter stays, and so does a full stop set
    between spaces (") . Vui" on a maint-guide page: 1.5 mm took part of it). Measured on a
    13 pt page at 260 dpi with 400 dots of 0.2-0.5 mm: CER 2.48% -> 0.81% (clean page 0.62%)."""

    max_area_mm2: float = 0.15  # ~0.45 mm across: dust and toner specks the size of a full stop
    clearance_mm: float = 2.5  # no other ink this near (a square window): more than a word space
    ink_threshold: int | None = None  # grey level of ink; None: Otsu's threshold of the page


def despeckle(grey: np.ndarray, params: DespeckleParams = DespeckleParams(), dpi: float = 300.0) -> StageResult:
    """The OCR image with isolated specks painted over in the paper's tone. Grey uint8 only (the
    master is never despeckled). details: `specks_px` (pixels painted)."""
    if not isinstance(grey, np.ndarray) or grey.dtype != np.uint8 or grey.ndim != 2 or min(grey.shape) < 16:
        return StageResult(grey, False, "despeckle.bad_input", {"specks_px": 0})
    px_per_mm = max(dpi, 1.0) / MM_PER_INCH
    max_area = max(1, int(params.max_area_mm2 * px_per_mm**2))
    side = 2 * max(1, round(params.clearance_mm * px_per_mm)) + 1
    if params.ink_threshold is None:
        level, ink = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    else:
        level, ink = cv2.threshold(grey, params.ink_threshold, 1, cv2.THRESH_BINARY_INV)
    # Ink pixels within each pixel's neighbourhood: a speck's own pixels see only the speck.
    count = cv2.boxFilter(ink, cv2.CV_16U, (side, side), normalize=False, borderType=cv2.BORDER_CONSTANT)
    lonely = cv2.bitwise_and(ink, (count <= max_area).view(np.uint8))
    # A mark is kept or removed whole: a lonely pixel within a speck's width of kept ink belongs
    # to a larger mark (or a near one), whose far end merely saw less ink around it.
    reach = 2 * math.isqrt(max_area) + 1
    kept = cv2.dilate(cv2.subtract(ink, lonely), np.ones((reach, reach), np.uint8))
    lonely = cv2.subtract(lonely, kept)
    removed = int(cv2.countNonZero(lonely))
    if removed == 0:
        return StageResult(grey, False, "despeckle.none", {"specks_px": 0})
    paper = int(round(cv2.mean(grey, mask=1 - ink)[0])) if level < 255 else 255
    out = grey.copy()
    out[lonely.view(bool)] = paper
    return StageResult(out, True, "", {"specks_px": removed})
