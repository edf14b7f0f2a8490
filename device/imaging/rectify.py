"""Warps the page quadrilateral to an upright rectangle of its physical size at the resolved dpi."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from device.imaging.stages import StageResult

if TYPE_CHECKING:  # quality.py uses this module's warp, so it is imported where it is needed
    from device.imaging.quality import QcFlag

log = logging.getLogger(__name__)

MM_PER_INCH = 25.4
A4_MM = (210.0, 297.0)


@dataclass(frozen=True)
class RectifyParams:
    """The page's physical size (short side, long side) in mm; landscape quads are turned to fit."""

    paper: tuple[float, float] = A4_MM
    min_side_px: int = 32  # a quad whose shortest side is below this is not a page


def side_lengths(quad: np.ndarray) -> np.ndarray:
    """Lengths of the sides TL-TR, TR-BR, BR-BL, BL-TL in pixels."""
    return np.linalg.norm(np.roll(quad, -1, axis=0) - quad, axis=1)


def warp_quad(image: np.ndarray, quad: np.ndarray, size: tuple[int, int],
              interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """The inside of `quad` (TL, TR, BR, BL in `image` pixels) warped onto a `size` (width,
    height) rectangle. The one perspective warp of the box: the master here, QC's small copy
    in `quality.rectify`."""
    width, height = size
    dst = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)
    matrix = cv2.getPerspectiveTransform(np.asarray(quad, np.float32), dst)
    return cv2.warpPerspective(image, matrix, (width, height), flags=interpolation,
                               borderMode=cv2.BORDER_REPLICATE)


def resolved_dpi(quad: np.ndarray, paper_mm: tuple[float, float]) -> float:
    """Pixels per inch the sensor really resolved along the page: the shorter of the two
    estimates (width sides over paper width, height sides over paper height), each taken from
    the shorter of its two opposite sides, so the page is never upsampled."""
    top, right, bottom, left = side_lengths(quad)
    dpi_w = min(top, bottom) / (paper_mm[0] / MM_PER_INCH)
    dpi_h = min(left, right) / (paper_mm[1] / MM_PER_INCH)
    return float(min(dpi_w, dpi_h))


def _paper_for(quad: np.ndarray, paper: tuple[float, float]) -> tuple[float, float]:
    """(width, height) in mm: portrait paper unless the quad is wider than tall."""
    top, right, bottom, left = side_lengths(quad)
    short, long = sorted(paper)
    return (long, short) if top + bottom > left + right else (short, long)


def _bad_quad(image: np.ndarray, quad: np.ndarray | None, params: RectifyParams) -> str:
    if quad is None:
        return "rectify.no_quad"
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.size == 0:
        return "rectify.bad_input"
    quad = np.asarray(quad, np.float32)
    if quad.shape != (4, 2) or not np.isfinite(quad).all():
        return "rectify.bad_quad"
    if side_lengths(quad).min() < params.min_side_px or cv2.contourArea(quad) <= 0:
        return "rectify.bad_quad"  # degenerate, or not in TL, TR, BR, BL (clockwise) order
    return ""


def rectify(image: np.ndarray, quad: np.ndarray | None, params: RectifyParams = RectifyParams()) -> StageResult:
    """The page inside `quad` (TL, TR, BR, BL in input pixels) as an upright rectangle of the
    paper's size at the dpi it was resolved at. Returns the input with a reason if it cannot."""
    reason = _bad_quad(image, quad, params)
    if reason:
        log.debug("rectify skipped: %s", reason)
        return StageResult(image, False, reason, {})
    src = np.asarray(quad, np.float32)
    paper_w, paper_h = _paper_for(src, params.paper)
    dpi = resolved_dpi(src, (paper_w, paper_h))
    width = max(1, int(paper_w / MM_PER_INCH * dpi))
    height = max(1, int(paper_h / MM_PER_INCH * dpi))
    # Output is at most the resolved size, so this only ever shrinks (or keeps) the page.
    shrinking = width * height < 0.9 * cv2.contourArea(src)
    out = warp_quad(image, src, (width, height), cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    details = {
        "dpi": round(dpi, 2),
        "quad": [[round(float(x), 2), round(float(y), 2)] for x, y in src],
        "size": [width, height],
        "paper_mm": [paper_w, paper_h],
    }
    return StageResult(out, True, "", details)


def flag_low_dpi(dpi: float, floor: float = 200.0) -> QcFlag:
    """A QC flag when the page was resolved at fewer than `floor` dpi (too far or too small a sensor)."""
    from device.imaging.quality import QcFlag  # here, not above: quality.py imports this module

    return QcFlag("low_dpi", bool(dpi < floor), float(dpi), "qc.low_dpi",
                  "" if dpi >= floor else f"{dpi:.0f} dpi < {floor:.0f}")
