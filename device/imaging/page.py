"""Finds the paper page in a photo of a desk: its quadrilateral (TL, TR, BR, BL) and a confidence.

The one page detector of the box. `detect_page(image, params) -> PageDetection` is a pure
function of the array. It works on a reduced copy (long side <= `work_long_side`, an integer
step), proposes candidate quadrilaterals from three independent cues (`page_quads.py`):

- "paper": a bright-and-colourless map (Lab lightness minus twice the chroma), thresholded at
  Otsu and at a second Otsu level over the bright part, opened and closed; each large
  component's convex hull becomes quads (simplified hull, greedy 4-gon, min-area rectangle).
  Works on dark or coloured desks; survives a hand across the edge (the hull bridges it).
- "edges": Canny edges (low thresholds), dilated so a broken outline closes; large contours
  become quads the same way. Works for white-on-white where the paper map fails.
- "lines": up to 20 long Hough segments; two near-parallel lines crossed with two others near
  perpendicular to them make a quad. Works when a corner is hidden or a side is faint.

Each quad is scored (`score_quad`): edge support (a brightness step across each side, sampled
along it at two distances so a line of text does not pass for a page edge), corner angles,
aspect (long/short 1.0-2.0, fading to zero at 3.0) and area; the leaders are refined (sides
snapped to the strongest step by Huber line fits) and re-scored. The choice (`_choose`)
prefers, among near-best quads, a clearly larger one (the page is the outermost rectangle,
not a table printed on it), and a quad on the frame edge that shares three sides with the
best one and adds only more of the same paper (a page hanging out of the frame whose best
quad closed on a text line). Quads on the frame edge are allowed and marked
`touches_border`; QC decides what that means. Rectification should start from `quad`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from device.imaging.page_quads import (
    CueMaps,
    QuadScore,
    candidate_quads,
    cue_maps,
    order_corners,
    refine_quad,
    score_quad,
    side_support,
)

log = logging.getLogger(__name__)

__all__ = [
    "CueMaps",
    "PageDetectParams",
    "PageDetection",
    "cue_maps",
    "detect_page",
    "order_corners",
    "page_angle",
    "reduce_image",
    "side_support",
]


@dataclass(frozen=True)
class PageDetectParams:
    """Tuning of the page detector. Fractions are of the reduced frame unless said otherwise."""

    work_long_side: int = 1024  # the reduced copy's long side is at most this (integer step)
    min_area_fraction: float = 0.08  # a page covers at least 8% of the frame
    max_area_fraction: float = 0.995  # ...and is not the frame itself
    max_corner_deviation_deg: float = 35.0  # |corner angle - 90| allowed (overhead perspective)
    # Long/short side: square notes to ID cards (1.59) and receipts; the score then fades to
    # zero over `aspect_fade` beyond it (a tilted camera foreshortens a page).
    aspect_range: tuple[float, float] = (1.0, 2.0)
    aspect_fade: float = 1.0
    min_confidence: float = 0.4  # below this, no page is reported
    border_margin_fraction: float = 0.006  # a side this close to the frame edge lies "on" it
    contrast_min: float = 4.0  # grey-level step across a side that counts as support
    max_candidates: int = 40  # scoring budget after cheap pre-filtering
    darker_page_factor: float = 0.7  # score kept by a quad darker than its surroundings
    larger_window: float = 0.1  # a quad >= 1.15x the best's area wins if this close in score


@dataclass(frozen=True, eq=False)
class PageDetection:
    """The detector's answer. `quad` is (4, 2) float32, TL, TR, BR, BL in input pixels, or None."""

    quad: np.ndarray | None
    confidence: float
    reason: str  # "" when found; otherwise a key: page.not_found, page.bad_input
    method: str = ""  # the cue that produced the quad: paper, edges, lines
    touches_border: bool = False  # a corner or side lies on or beyond the frame edge
    scale: float = 1.0  # reduced copy / input; reduced pixel = (input + 0.5) * scale - 0.5
    details: dict[str, float] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return self.quad is not None


def reduce_image(image: np.ndarray, max_long_side: int) -> tuple[np.ndarray, float]:
    """A reduced copy (long side <= max_long_side) by an integer step, and its scale (small/input).

    An integer step lets INTER_AREA take OpenCV's fast path (~7 ms instead of ~22 ms on 12 MP);
    the few rows/columns that do not fill a step are dropped, which moves nothing."""
    h, w = image.shape[:2]
    step = math.ceil(max(h, w) / max_long_side)
    if step <= 1:
        return image, 1.0
    nh, nw = h // step, w // step
    view = image[: nh * step, : nw * step]
    return cv2.resize(view, (nw, nh), interpolation=cv2.INTER_AREA), 1.0 / step


def page_angle(quad: np.ndarray) -> float:
    """In-plane angle of the page in degrees, in (-45, 45]: the mean direction of its four sides,
    each folded onto the nearest axis (so portrait and landscape read the same)."""
    angles = []
    for i in range(4):
        dx, dy = quad[(i + 1) % 4] - quad[i]
        a = math.degrees(math.atan2(float(dy), float(dx)))
        angles.append((a + 45.0) % 90.0 - 45.0)
    # Average on the doubled circle of period 90 so -44 and 44 do not cancel to 0.
    rad = [math.radians(a * 4) for a in angles]
    mean = math.degrees(math.atan2(sum(map(math.sin, rad)), sum(map(math.cos, rad)))) / 4
    return 45.0 if mean <= -45.0 else mean


def _bad_input(image: np.ndarray) -> str:
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3):
        return "page.bad_input"
    if min(image.shape[:2]) < 32 or image.dtype != np.uint8:
        return "page.bad_input"
    return ""


def _distinct(scored: list, tolerance: float) -> list:
    """Drop quads within `tolerance` px (every corner) of a better one, so refinement sees variety."""
    kept: list = []
    for item in scored:
        if all(np.abs(item[1] - other[1]).max() > tolerance for other in kept):
            kept.append(item)
    return kept


def _choose(
    scored: list[tuple[QuadScore, np.ndarray, str]], maps: CueMaps, params: PageDetectParams
) -> tuple[QuadScore, np.ndarray, str] | None:
    """Among quads nearly as good as the best, the largest one inside the frame (else the
    largest): a table, a photo or a box printed on the page has sharp edges too, and the page
    is the outermost of them; a quad leaning out of the frame is a worse explanation than an
    equally good one within it."""
    good = [item for item in scored if item[0].total >= params.min_confidence]
    if not good:
        return None
    best = max(good, key=lambda item: item[0].total)
    # "Clearly larger": a quad a few pixels outside the best one is the same page, worse fitted.
    larger = [
        item
        for item in good
        if item[0].total >= best[0].total - params.larger_window and item[0].area >= 1.15 * best[0].area
    ]
    within = [item for item in larger if not item[0].touches_border]
    if larger:
        return max(within or larger, key=lambda item: item[0].area)
    return _cut_off_version(best, good, maps) or best


def _collinear(a0: np.ndarray, a1: np.ndarray, quad: np.ndarray, tolerance: float) -> bool:
    """Whether segment a0-a1 lies along one of `quad`'s sides (both ends near its line)."""
    for i in range(4):
        b0, b1 = quad[i], quad[(i + 1) % 4]
        d = b1 - b0
        norm = float(np.hypot(*d)) + 1e-9
        dist = [abs(float(d[0] * (p[1] - b0[1]) - d[1] * (p[0] - b0[0]))) / norm for p in (a0, a1)]
        if max(dist) <= tolerance:
            return True
    return False


def _same_paper_beyond(quad: np.ndarray, larger: np.ndarray, maps: CueMaps) -> bool:
    """Whether what `larger` adds to `quad` looks like the paper inside `quad`."""
    h, w = maps.paper.shape
    inner, outer = np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(inner, np.round(quad).astype(np.int32), 1)
    cv2.fillConvexPoly(outer, np.round(larger).astype(np.int32), 1)
    extra = (outer > 0) & (inner == 0)
    if not inner.any() or extra.sum() < 100:
        return False
    white = float(np.percentile(maps.paper[inner > 0], 90))
    # Three quarters of it at least: a white desk beside a hand or a keyboard is not enough.
    return float(np.percentile(maps.paper[extra], 25)) >= 0.75 * white


def _cut_off_version(
    best: tuple[QuadScore, np.ndarray, str], good: list, maps: CueMaps
) -> tuple[QuadScore, np.ndarray, str] | None:
    """A page hanging out of the frame shows three real sides; its fourth is the frame edge. Its
    best-scoring quad often closes on a text line instead. If a larger quad on the frame edge
    shares three of the best quad's sides and adds only more of the same paper, it is the page
    (cut off), not the text block."""
    quad = best[1]
    tolerance = 0.015 * float(np.ptp(quad, axis=0).max())
    for item in sorted(good, key=lambda it: it[0].area, reverse=True):
        s, other, _ = item
        if not s.touches_border or s.area < 1.1 * best[0].area or s.total < best[0].total - 0.2:
            continue
        shared = sum(_collinear(quad[i], quad[(i + 1) % 4], other, tolerance) for i in range(4))
        if shared >= 3 and _same_paper_beyond(quad, other, maps):
            return item
    return None


def detect_page(image: np.ndarray, params: PageDetectParams = PageDetectParams()) -> PageDetection:
    """Find the page in `image` (BGR or grey uint8). Never raises on odd pictures: says why."""
    reason = _bad_input(image)
    if reason:
        return PageDetection(None, 0.0, reason)
    small, scale = reduce_image(image, params.work_long_side)
    maps = cue_maps(small)
    scored = [(score_quad(q, maps, params), order_corners(q), m) for q, m in candidate_quads(maps, params)]
    scored.sort(key=lambda item: item[0].total, reverse=True)
    scored = _distinct(scored, 0.01 * max(maps.size))
    # Refining is the costly step: only the leaders get it.
    for i, (s, q, m) in enumerate(scored[:8]):
        refined = refine_quad(q, maps, params)
        again = None if refined is None else refine_quad(refined, maps, params)
        refined = refined if again is None else again
        if refined is not None:
            rs = score_quad(refined, maps, params)
            # Scores saturate on clean edges, so a fitted quad replaces a rough one unless it
            # is clearly worse.
            if rs.total >= s.total - 0.03:
                scored[i] = (rs, order_corners(refined), m)
    best = _choose(scored, maps, params)
    if best is None:
        conf = max((s.total for s, _, _ in scored), default=0.0)
        log.debug("no page: best score %.2f", conf)
        return PageDetection(None, round(conf, 4), "page.not_found", scale=scale)
    s, quad, method = best
    # Reduced pixel i covers input pixels [i/scale, (i+1)/scale): map centres to centres.
    quad = (quad + 0.5) / np.float32(scale) - 0.5
    return PageDetection(
        quad=quad.astype(np.float32),
        confidence=round(min(1.0, s.total), 4),
        reason="",
        method=method,
        touches_border=s.touches_border,
        scale=scale,
        details=s.as_dict(),
    )
