"""Splits a capture of an open register into its two facing pages: finds the gutter between them.

`split_spread(image, params, detection=None) -> SpreadResult` is a pure function of the array.
The book's outline comes from the page detector (or the caller's detection of the same
image). When the detector found only one page of the pair (the gutter's shade can part the
paper in two), the page is blacked out and the detector asked again for its neighbour. If the
outline has the shape of two facing pages side by side, its inside is warped to a small
upright rectangle and searched for the gutter: in each of several horizontal bands, the
brightness of the paper itself (a high percentile of each column, so text does not count) is
followed across the middle of the spread; the gutter is a valley in it, darker than the paper
on both sides within a few centimetres (the paper turns away from the light and the facing
page shades it). Uneven light is a slope, not a valley; a hand holding the book open or an
arm's shadow is dark on one side only. The bands' valleys are fitted with one straight fold by
consensus, so fingers over part of it do not move it. The fold cuts the outline into the left
and right pages, returned as quads in input pixels, each ready for `rectify`.

The result is a `StageResult` (image: the input, untouched) with the quads beside it. The
pipeline handles one page at a time, so splitting belongs before it: one capture of an open
register becomes two pages, each carrying its quad as its region, and each page's run
rectifies that region instead of detecting a page in the whole frame.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from device.imaging.page import PageDetection, PageDetectParams, detect_page, reduce_image
from device.imaging.stages import StageResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpreadParams:
    """Tuning of the spread splitter. Fractions are of the book's width unless said otherwise."""

    page: PageDetectParams = field(default_factory=PageDetectParams)
    # Width / height of the outer quad that can be two facing portrait pages (two A4: 1.41;
    # registers are often a little narrower or wider). A single portrait page is ~0.7.
    aspect_range: tuple[float, float] = (1.1, 1.95)
    search: tuple[float, float] = (0.3, 0.7)  # the gutter lies in this part of the width
    work_height: int = 480  # the spread is examined warped to this height (pixels)
    bands: int = 10  # horizontal bands (of the middle 90% of the height), each votes for the gutter
    paper_percentile: float = 95.0  # a column's paper brightness in a band (text is darker)
    shoulder: float = 0.08  # the paper beside the gutter is looked for within this distance
    min_depth: float = 0.06  # the valley is this much darker than the paper on BOTH sides
    min_votes: float = 0.7  # share of the bands that must find a valley on the fitted fold
    fold_tolerance: float = 0.012  # a band's valley this close to the fitted fold agrees with it
    max_fold_tilt: float = 0.12  # |dx/dy| of the fold in the upright spread (about 7 degrees)


@dataclass(frozen=True, eq=False)
class SpreadResult(StageResult):
    """A StageResult whose `image` is always the input, untouched. When `applied`, `pages`
    holds the left and right pages' quads ((4, 2) float32, TL, TR, BR, BL in input pixels) and
    `gutter` the fold's top and bottom points ((2, 2) float32); otherwise `pages` is empty."""

    pages: tuple[np.ndarray, ...] = ()
    gutter: np.ndarray | None = None


def _sides(quad: np.ndarray) -> tuple[float, float]:
    """(width, height) of a TL, TR, BR, BL quad: the means of its opposite sides."""
    top, right, bottom, left = np.linalg.norm(np.roll(quad, -1, axis=0) - quad, axis=1)
    return float(top + bottom) / 2, float(left + right) / 2


def _upright(grey: np.ndarray, quad: np.ndarray, height: int) -> tuple[np.ndarray, np.ndarray]:
    """The quad's inside warped to an upright rectangle `height` tall with the quad's aspect,
    and the homography from that rectangle back to `grey`'s pixels."""
    w, h = _sides(quad)
    width = max(8, int(round(height * w / h)))
    rect = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)
    forward = cv2.getPerspectiveTransform(quad.astype(np.float32), rect)
    warped = cv2.warpPerspective(grey, forward, (width, height), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    return warped, np.linalg.inv(forward)


def _band_valleys(upright: np.ndarray, params: SpreadParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each band: its centre row, the column of its deepest paper valley within the search
    range (NaN when none is deep enough on both sides) and that valley's depth."""
    h, w = upright.shape
    top, bottom = int(0.05 * h), int(0.95 * h)
    edges = np.linspace(top, bottom, params.bands + 1).astype(int)
    lo, hi = int(params.search[0] * w), int(params.search[1] * w)
    reach = max(3, int(params.shoulder * w))
    sigma = max(1.0, 0.004 * w)
    rows, cols, depths = [], [], []
    for y0, y1 in zip(edges[:-1], edges[1:]):
        paper = np.percentile(upright[y0:y1].astype(np.float32), params.paper_percentile, axis=0)
        paper = cv2.GaussianBlur(paper.reshape(1, -1), (0, 0), sigma).ravel()
        x = lo + int(np.argmin(paper[lo:hi]))
        left = float(paper[max(0, x - reach) : x + 1].max())
        right = float(paper[x : x + reach + 1].max())
        level = max(left, right, 1.0)
        depth = (min(left, right) - float(paper[x])) / level
        rows.append((y0 + y1 - 1) / 2)
        cols.append(float(x) if depth >= params.min_depth else np.nan)
        depths.append(depth)
    return np.array(rows), np.array(cols), np.array(depths)


def _fit_fold(rows: np.ndarray, cols: np.ndarray, width: int, params: SpreadParams) -> tuple[np.ndarray, int] | None:
    """A straight fold x = a + b * y through the band valleys, by consensus: every pair of
    valleys proposes a line; the one most valleys agree with (then refitted on them) wins."""
    found = np.flatnonzero(np.isfinite(cols))
    need = int(np.ceil(params.min_votes * len(rows)))
    if len(found) < max(2, need):
        return None
    tol = params.fold_tolerance * width
    best: tuple[int, np.ndarray] | None = None
    for i in found:
        for j in found:
            if j <= i:
                continue
            b = (cols[j] - cols[i]) / (rows[j] - rows[i])
            if abs(b) > params.max_fold_tilt:
                continue
            agree = found[np.abs(cols[found] - (cols[i] + b * (rows[found] - rows[i]))) <= tol]
            if best is None or len(agree) > len(best[1]):
                best = (len(agree), agree)
    if best is None or best[0] < need:
        return None
    agree = best[1]
    b, a = np.polyfit(rows[agree], cols[agree], 1)
    return np.array([a, b]), len(agree)


def _split(quad: np.ndarray, fold_top: np.ndarray, fold_bottom: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    left = np.array([quad[0], fold_top, fold_bottom, quad[3]], np.float32)
    right = np.array([fold_top, quad[1], quad[2], fold_bottom], np.float32)
    return left, right


def _facing_page(image: np.ndarray, quad: np.ndarray, params: SpreadParams) -> np.ndarray | None:
    """When the detector found one page of a spread, the outer quad of both: the page is
    blacked out (a little grown) and the detector asked again; a second page of about the
    same height lying against its left or right side makes the pair. None otherwise."""
    small, scale = reduce_image(image, params.page.work_long_side)
    q = (quad + 0.5) * np.float32(scale) - 0.5
    centre = q.mean(axis=0)
    grown = centre + (q - centre) * 1.03
    masked = small.copy()
    cv2.fillConvexPoly(masked, np.round(grown).astype(np.int32), 0)
    other = detect_page(masked, params.page)
    if other.quad is None:
        return None
    o = np.asarray(other.quad, np.float32)
    (w1, h1), (w2, h2) = _sides(q), _sides(o)
    if abs(h2 / h1 - 1) > 0.15 or abs(w2 / w1 - 1) > 0.3:
        return None
    near = 0.15 * w1  # the gutter's shade can eat into both pages' detected sides
    if np.linalg.norm(o[[0, 3]] - q[[1, 2]], axis=1).max() <= near:  # the other page is on the right
        pair = np.array([q[0], o[1], o[2], q[3]], np.float32)
    elif np.linalg.norm(o[[1, 2]] - q[[0, 3]], axis=1).max() <= near:  # ... on the left
        pair = np.array([o[0], q[1], q[2], o[3]], np.float32)
    else:
        return None
    return (pair + 0.5) / np.float32(scale) - 0.5


def _not_split(image: np.ndarray, reason: str, details: dict[str, Any]) -> SpreadResult:
    log.debug("spread not split: %s %s", reason, details)
    return SpreadResult(image, False, reason, details)


def split_spread(image: np.ndarray, params: SpreadParams = SpreadParams(),
                 detection: PageDetection | None = None) -> SpreadResult:
    """The two facing pages of an open register in `image` (BGR or grey uint8), as quads in
    input pixels, or the input with a reason: spread.no_page, spread.single_page (the paper's
    shape is not two pages, or no gutter runs through it). `detection` is the page detector's
    answer for this same image when the caller already has it (it costs ~50 ms on 12 MP)."""
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.dtype != np.uint8:
        return _not_split(image, "spread.bad_input", {})
    detection = detection if detection is not None else detect_page(image, params.page)
    if detection.quad is None:
        return _not_split(image, "spread.no_page", {"page_reason": detection.reason})
    quad = np.asarray(detection.quad, np.float32)
    width, height = _sides(quad)
    details: dict[str, Any] = {"aspect": round(width / height, 3)}
    if width / height < params.aspect_range[0]:
        # One page of the pair? The gutter's shade can part the paper into two pages.
        pair = _facing_page(image, quad, params)
        if pair is None:
            return _not_split(image, "spread.single_page", details)
        quad = pair
        width, height = _sides(quad)
        details["joined_facing_page"] = True
    if not params.aspect_range[0] <= width / height <= params.aspect_range[1]:
        return _not_split(image, "spread.single_page", details)
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    small, scale = reduce_image(grey, 2 * params.work_height)
    small_quad = (quad + 0.5) * np.float32(scale) - 0.5
    upright, back = _upright(small, small_quad, params.work_height)
    rows, cols, depths = _band_valleys(upright, params)
    details["depth"] = round(float(np.nanmedian(np.where(np.isfinite(cols), depths, np.nan)))
                             if np.isfinite(cols).any() else 0.0, 3)
    fold = _fit_fold(rows, cols, upright.shape[1], params)
    details["bands"] = int(np.isfinite(cols).sum())
    if fold is None:
        return _not_split(image, "spread.single_page", details)
    (a, b), votes = fold
    h = upright.shape[0]
    ends = np.array([[a, 0.0], [a + b * (h - 1), h - 1]], np.float32)
    ends_small = cv2.perspectiveTransform(ends.reshape(1, 2, 2), back).reshape(2, 2)
    gutter = ((ends_small + 0.5) / np.float32(scale) - 0.5).astype(np.float32)
    left, right = _split(quad, gutter[0], gutter[1])
    details.update({
        "votes": votes,
        "gutter": [[round(float(x), 1), round(float(y), 1)] for x, y in gutter],
        "gutter_fraction": round(float(a + b * (h - 1) / 2) / (upright.shape[1] - 1), 4),
        "quad": [[round(float(x), 1), round(float(y), 1)] for x, y in quad],
    })
    log.debug("spread split at %.3f of the width (%d of %d bands)", details["gutter_fraction"], votes, len(rows))
    return SpreadResult(image, True, "", details, (left, right), gutter)
