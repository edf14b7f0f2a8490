"""Proposes, scores and refines candidate page quadrilaterals: the internals of `device.imaging.page`.

Three cues propose quads (paper map, edge contours, Hough line pairs); `score_quad` rates a
quad by the brightness step along its sides, its corner angles, aspect and size;
`refine_quad` snaps the sides to the strongest step nearby. See `page.py` for the why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from device.imaging.page import PageDetectParams


@dataclass(frozen=True, eq=False)
class CueMaps:
    """What the cues and the scorer share, computed once per reduced frame."""

    gray: np.ndarray  # float32 lightness, lightly smoothed
    paper: np.ndarray  # uint8: bright and colourless is high
    edges: np.ndarray  # uint8 Canny edge map

    @property
    def size(self) -> tuple[int, int]:
        return self.gray.shape[1], self.gray.shape[0]


def cue_maps(small: np.ndarray) -> CueMaps:
    """Lightness, paper-ness and edges of a reduced frame (BGR or grey uint8)."""
    bgr = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR) if small.ndim == 2 else small
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2Lab)
    lightness = cv2.GaussianBlur(lab[..., 0], (5, 5), 0)
    chroma = cv2.absdiff(lab[..., 1], 128).astype(np.int16) + cv2.absdiff(lab[..., 2], 128)
    # Paper is the brightest colourless thing on the desk; chroma counts double so a beige or
    # wooden desk falls below white paper even when it is as light.
    paper = np.clip(lab[..., 0].astype(np.int16) - 2 * chroma, 0, 255).astype(np.uint8)
    paper = cv2.medianBlur(paper, 5)
    # Low Canny thresholds: a white page on a light desk is a step of only ~8 grey levels.
    edges = cv2.Canny(lightness, 12, 30, L2gradient=True)
    return CueMaps(lightness.astype(np.float32), paper, edges)


def order_corners(quad: np.ndarray) -> np.ndarray:
    """Order four points TL, TR, BR, BL (clockwise on screen, starting nearest the top-left)."""
    pts = np.asarray(quad, np.float32).reshape(4, 2)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # clockwise on screen (y points down)
    start = int(np.argmin(pts.sum(axis=1)))
    return np.roll(pts, -start, axis=0)


def _contour_quads(points: np.ndarray) -> list[np.ndarray]:
    """Up to three 4-gons for one outline: the hull simplified until four corners remain, the
    hull with its cheapest vertices dropped one by one, and the minimum-area rectangle. They
    fail differently (rounded or dog-eared corners, a hand or a neighbour page joined on), so
    all go to the scorer."""
    hull = cv2.convexHull(points.reshape(-1, 1, 2).astype(np.float32))
    peri = cv2.arcLength(hull, True)
    quads = [order_corners(cv2.boxPoints(cv2.minAreaRect(hull)))]
    for eps in (0.01, 0.02, 0.04, 0.06):
        approx = cv2.approxPolyDP(hull, eps * peri, True)
        if len(approx) == 4:
            quads.append(order_corners(approx))
            break
    dense = hull if len(hull) <= 60 else cv2.approxPolyDP(hull, 0.002 * peri, True)
    pts = list(dense.reshape(-1, 2).astype(np.float64))
    if len(pts) >= 4:
        while len(pts) > 4:
            arr = np.array(pts)
            prev, nxt = np.roll(arr, 1, axis=0), np.roll(arr, -1, axis=0)
            u, v = arr - prev, nxt - prev
            pts.pop(int(np.argmin(np.abs(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]))))
        quads.append(order_corners(np.array(pts, np.float32)))
    return quads


def _paper_quads(maps: CueMaps, min_area: float) -> list[np.ndarray]:
    """Quads around large bright colourless regions, at Otsu and at a second, upper Otsu level."""
    paper = maps.paper
    t1, _ = cv2.threshold(paper, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    upper = paper[paper > t1]
    levels = [t1]
    if upper.size > 1000:  # three classes (dark desk, light desk, page): split the light ones
        t2, _ = cv2.threshold(upper.reshape(1, -1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        levels.append(t2)
    k = max(3, (max(maps.size) // 100) | 1)
    close = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    quads = []
    for level in levels:
        mask = cv2.morphologyEx((paper > level).astype(np.uint8), cv2.MORPH_OPEN, close)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, close)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for c in sorted(contours, key=cv2.contourArea, reverse=True)[:4]:
            if cv2.contourArea(c) >= min_area:
                quads += _contour_quads(c)
    return quads


def _edge_quads(maps: CueMaps, min_area: float) -> list[np.ndarray]:
    """Quads from contours of the (dilated) edge map whose hull is page-sized."""
    edges = cv2.dilate(maps.edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    big = []
    for c in contours:
        x, y, w, h = cv2.boundingRect(c)
        if w * h >= min_area and len(c) >= 8:
            area = cv2.contourArea(cv2.convexHull(c))
            if area >= min_area:
                big.append((area, c))
    big.sort(key=lambda item: item[0], reverse=True)
    return [q for _, c in big[:8] for q in _contour_quads(c)]


def _long_lines(maps: CueMaps) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Up to 20 long Hough segments (longest first, near-collinear ones merged), their
    lengths and their directions in degrees modulo 180."""
    w, h = maps.size
    short = min(w, h)
    k = 1.0
    edges = maps.edges
    segs = cv2.HoughLinesP(
        edges,
        1,
        np.pi / 180,
        threshold=max(15, int(short / k) // 10),
        minLineLength=short / k * 0.15,
        maxLineGap=max(w, h) / k * 0.01,
    )
    if segs is None:
        return np.zeros((0, 4), np.float32), np.zeros(0), np.zeros(0)
    segs = segs.reshape(-1, 4).astype(np.float32) * np.float32(k)
    d = segs[:, 2:] - segs[:, :2]
    length = np.hypot(d[:, 0], d[:, 1])
    angle = np.degrees(np.arctan2(d[:, 1], d[:, 0])) % 180
    kept: list[int] = []
    for i in np.argsort(-length):
        mid = (segs[i, :2] + segs[i, 2:]) / 2
        if all(
            _angle_gap(angle[i], angle[j]) > 5 or _line_distance(segs[j], mid) > short * 0.02 for j in kept
        ):
            kept.append(int(i))
        if len(kept) == 20:
            break
    return segs[kept], length[kept], angle[kept]


def _angle_gap(a: float, b: float) -> float:
    """Angle between two undirected directions, 0..90 degrees."""
    gap = abs(a - b) % 180
    return min(gap, 180 - gap)


def _line_distance(seg: np.ndarray, point: np.ndarray) -> float:
    dx, dy = float(seg[2] - seg[0]), float(seg[3] - seg[1])
    px, py = float(point[0] - seg[0]), float(point[1] - seg[1])
    return abs(dx * py - dy * px) / (math.hypot(dx, dy) + 1e-9)


def _intersect(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """Intersection of the infinite lines through segments a and b (x0, y0, x1, y1)."""
    ax, ay, adx, ady = float(a[0]), float(a[1]), float(a[2] - a[0]), float(a[3] - a[1])
    bx, by, bdx, bdy = float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])
    denom = adx * bdy - ady * bdx
    if abs(denom) < 1e-6:
        return None
    t = ((bx - ax) * bdy - (by - ay) * bdx) / denom
    return np.array([ax + t * adx, ay + t * ady], np.float32)


def _line_quads(maps: CueMaps, params: PageDetectParams, min_area: float) -> list[np.ndarray]:
    """Quads from two roughly parallel lines crossed with two others roughly perpendicular to
    them, ranked by the total length of the four lines (cheap) before any scoring."""
    segs, length, angle = _long_lines(maps)
    w, h = maps.size
    n = len(segs)
    if n < 4:
        return []
    ones = np.ones((n, 1), np.float64)
    homog = np.cross(np.hstack([segs[:, :2], ones]), np.hstack([segs[:, 2:], ones]))
    cross = np.cross(homog[:, None, :], homog[None, :, :])  # (n, n, 3) pairwise intersections
    with np.errstate(divide="ignore", invalid="ignore"):
        points = cross[..., :2] / cross[..., 2:3]
    gap = np.abs(angle[:, None] - angle[None, :]) % 180
    gap = np.minimum(gap, 180 - gap)
    mids = (segs[:, :2] + segs[:, 2:]) / 2
    i, j = np.triu_indices(n, 1)
    far = np.array([_line_distance(segs[a], mids[b]) for a, b in zip(i, j)]) >= 0.15 * min(w, h)
    keep = (gap[i, j] <= 20) & far
    a1, a2 = i[keep], j[keep]
    pa, pb = np.triu_indices(len(a1), 1)
    perpendicular = gap[a1[pa], a1[pb]] >= 55
    pa, pb = pa[perpendicular], pb[perpendicular]
    l1, l2, m1, m2 = a1[pa], a2[pa], a1[pb], a2[pb]
    quads = np.stack([points[l1, m1], points[m1, l2], points[l2, m2], points[m2, l1]], axis=1)
    x, y = quads[..., 0], quads[..., 1]
    inside = ((x > -0.1 * w) & (x < 1.1 * w) & (y > -0.1 * h) & (y < 1.1 * h)).all(axis=1)
    area = 0.5 * np.abs((x * np.roll(y, -1, 1) - np.roll(x, -1, 1) * y).sum(axis=1))
    ok = inside & (area >= min_area) & np.isfinite(quads).all(axis=(1, 2))
    total = length[l1] + length[l2] + length[m1] + length[m2]
    order = np.argsort(-np.where(ok, total, -1.0))[: params.max_candidates]
    return [order_corners(quads[k].astype(np.float32)) for k in order if ok[k]]


def candidate_quads(maps: CueMaps, params: PageDetectParams) -> list[tuple[np.ndarray, str]]:
    """Every cue's proposals, tagged with the cue's name."""
    w, h = maps.size
    min_area = params.min_area_fraction * w * h
    out = [(q, "paper") for q in _paper_quads(maps, min_area)]
    out += [(q, "edges") for q in _edge_quads(maps, min_area)]
    out += [(q, "lines") for q in _line_quads(maps, params, min_area)]
    return out


BORDER_SUPPORT = 0.4  # credit for a side lying on the frame edge: unseen, neither good nor bad


@dataclass(frozen=True)
class QuadScore:
    """Why a quad scored what it did; `total` in 0..1 is the detector's confidence."""

    total: float = 0.0
    support: float = 0.0  # mean over sides of the fraction of samples with a brightness step
    support_min: float = 0.0  # the weakest side's support
    rectangularity: float = 0.0  # 1 when every corner is 90 degrees
    aspect: float = 0.0  # 1 inside the plausible long/short range
    area: float = 0.0  # fraction of the frame
    touches_border: bool = False

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.__dict__.items()}


def _sample(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear samples of a float32 image at (..., 2) points; -1 outside the frame."""
    flat = points.reshape(-1, 1, 2).astype(np.float32)
    values = cv2.remap(
        image, flat[..., 0], flat[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=-1.0
    )
    return values.reshape(points.shape[:-1])


def _sides(quad: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points at fractions t along each side (4, n, 2) and each side's outward unit normal (4, 2)."""
    start, end = quad, np.roll(quad, -1, axis=0)
    direction = end - start
    direction /= np.linalg.norm(direction, axis=1, keepdims=True) + 1e-9
    # TL, TR, BR, BL runs clockwise on screen, so (dy, -dx) points out of the page.
    normals = np.stack([direction[:, 1], -direction[:, 0]], axis=1)
    points = start[:, None, :] + t[None, :, None] * (end - start)[:, None, :]
    return points, normals


def _edge_support(
    quad: np.ndarray, maps: CueMaps, params: PageDetectParams
) -> tuple[np.ndarray, int, bool, float]:
    """Per-side support, sides on the frame edge, whether a corner is off-frame, and the sign of
    the step (+1: the quad is brighter than its surroundings)."""
    w, h = maps.size
    margin = params.border_margin_fraction * max(w, h)
    offset = max(2.0, 0.004 * max(w, h))
    points, normals = _sides(quad, np.linspace(0.06, 0.94, 48))
    inside = _sample(maps.gray, points - normals[:, None, :] * offset)
    outside = _sample(maps.gray, points + normals[:, None, :] * offset)
    # A page edge is a step that holds further out; the top of a text line is not (the line
    # above is a few pixels away), so the step is checked at three times the offset too.
    inside_far = _sample(maps.gray, points - normals[:, None, :] * 3 * offset)
    outside_far = _sample(maps.gray, points + normals[:, None, :] * 3 * offset)
    x, y = points[..., 0], points[..., 1]
    on_border = (x < margin) | (y < margin) | (x > w - 1 - margin) | (y > h - 1 - margin)
    on_border |= (inside < 0) | (outside < 0) | (inside_far < 0) | (outside_far < 0)
    diff = inside - outside
    valid = ~on_border
    sign = 1.0 if not valid.any() or np.median(diff[valid]) >= 0 else -1.0
    ok = (
        (diff * sign >= params.contrast_min)
        & ((inside_far - outside_far) * sign >= params.contrast_min)
        & valid
    )
    border_side = on_border.mean(axis=1) > 0.5
    support = np.where(border_side, BORDER_SUPPORT, ok.sum(axis=1) / np.maximum(valid.sum(axis=1), 1))
    q = quad
    corner_off = bool(
        (
            (q[:, 0] < margin) | (q[:, 1] < margin) | (q[:, 0] > w - 1 - margin) | (q[:, 1] > h - 1 - margin)
        ).any()
    )
    return support, int(border_side.sum()), corner_off, sign


def _corner_deviation(quad: np.ndarray) -> np.ndarray:
    prev, nxt = np.roll(quad, 1, axis=0) - quad, np.roll(quad, -1, axis=0) - quad
    cos = (prev * nxt).sum(1) / (np.linalg.norm(prev, axis=1) * np.linalg.norm(nxt, axis=1) + 1e-9)
    return np.abs(np.degrees(np.arccos(np.clip(cos, -1, 1))) - 90.0)


def score_quad(quad: np.ndarray, maps: CueMaps, params: PageDetectParams) -> QuadScore:
    """Score a candidate: edge support dominates; geometry and size break ties and veto nonsense."""
    quad = order_corners(quad)
    w, h = maps.size
    area = cv2.contourArea(quad) / (w * h)
    if not (params.min_area_fraction <= area <= params.max_area_fraction):
        return QuadScore(area=area)
    if not cv2.isContourConvex(quad.reshape(-1, 1, 2)):
        return QuadScore(area=area)
    dev = _corner_deviation(quad)
    if dev.max() > params.max_corner_deviation_deg:
        return QuadScore(area=area)
    sides = np.linalg.norm(np.roll(quad, -1, axis=0) - quad, axis=1)
    pair_a, pair_b = sides[0] + sides[2], sides[1] + sides[3]
    ratio = max(pair_a, pair_b) / max(min(pair_a, pair_b), 1e-6)
    lo, hi = params.aspect_range
    aspect = 1.0 if lo <= ratio <= hi else max(0.0, 1.0 - (ratio - hi) / params.aspect_fade)
    support, border_sides, corner_off, sign = _edge_support(quad, maps, params)
    if border_sides >= 3:  # the frame itself, or a page far larger than the frame
        return QuadScore(area=area, touches_border=True)
    rect = 1.0 - float(dev.mean()) / params.max_corner_deviation_deg
    # Aspect multiplies: a magnetic stripe or a ruled line has perfect edges and no page shape.
    # Paper is brighter than what it lies on; a block of text is darker than its margins.
    total = (
        aspect
        * (1.0 if sign > 0 else params.darker_page_factor)
        * (0.4 * support.mean() + 0.3 * support.min() + 0.1 * rect + 0.2 * min(1.0, math.sqrt(area / 0.5)))
    )
    return QuadScore(
        total=float(total),
        support=float(support.mean()),
        support_min=float(support.min()),
        rectangularity=rect,
        aspect=aspect,
        area=float(area),
        touches_border=border_sides > 0 or corner_off,
    )


def refine_quad(quad: np.ndarray, maps: CueMaps, params: PageDetectParams) -> np.ndarray | None:
    """Snap each side to the strongest brightness step along its normals and re-intersect.

    Profiles across each side (+-1.5% of the frame) find the step; a Huber line fit through
    those points ignores the few that land on text, a hand or a shadow. None if it runs away."""
    quad = order_corners(quad)
    w, h = maps.size
    band = max(4, int(0.015 * max(w, h)))
    steps = np.arange(-band, band + 1, dtype=np.float32)
    points, normals = _sides(quad, np.linspace(0.1, 0.9, 40))
    lines = []
    for side in range(4):
        prof_pts = points[side][:, None, :] + steps[None, :, None] * normals[side]
        vals = _sample(maps.gray, prof_pts)
        usable = (vals >= 0).all(axis=1)
        sign = 1.0 if np.median(vals[:, :band].mean(1) - vals[:, band + 1 :].mean(1)) >= 0 else -1.0
        grad = -np.diff(vals, axis=1) * sign  # positive where brightness drops page -> desk
        idx = grad.argmax(axis=1)
        strong = usable & (grad.max(axis=1) >= params.contrast_min / 2)
        found = points[side] + (steps[idx] + 0.5)[:, None] * normals[side]
        found = found[strong]
        if len(found) >= 10:
            vx, vy, x0, y0 = cv2.fitLine(found.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
            lines.append(np.array([x0, y0, x0 + vx, y0 + vy], np.float32))
        else:
            lines.append(np.concatenate([quad[side], quad[(side + 1) % 4]]))
    corners = [_intersect(lines[i - 1], lines[i]) for i in range(4)]
    if any(c is None for c in corners):
        return None
    refined = np.array(corners, np.float32)
    if np.abs(refined - quad).max() > 3 * band:
        return None
    return refined


def side_support(quad: np.ndarray, maps: CueMaps, params: PageDetectParams) -> np.ndarray:
    """Support of each side (top, right, bottom, left for a TL, TR, BR, BL quad), 0..1; sides on
    the frame edge get BORDER_SUPPORT."""
    return _edge_support(order_corners(quad), maps, params)[0]
