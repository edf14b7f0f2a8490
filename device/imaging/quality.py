"""Checks a shot at the shutter (blur, glare, cut-off, skew, blank, duplicate, hand): one verdict.

Each check is a pure function of arrays returning a `QcFlag`; `assess` reduces the frame once,
finds the page once, runs every check and returns a `QcVerdict` with the fingerprint the next
shot's duplicate check needs. All thresholds live in `QcParams`, each with its reason. Blur is
the one check that reads full-resolution pixels (a few patches), because focus blur of a
12 MP frame vanishes when the frame is reduced to ~1000 px.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from device.imaging.page import (
    PageDetection,
    PageDetectParams,
    cue_maps,
    detect_page,
    order_corners,
    page_angle,
    reduce_image,
    side_support,
)
from device.imaging.rectify import side_lengths, warp_quad

log = logging.getLogger(__name__)

HandDetector = Callable[[np.ndarray], Sequence[object]]


@dataclass(frozen=True)
class QcParams:
    """Thresholds of every shutter check. Sizes are fractions so they hold at any resolution."""

    work_long_side: int = 1024  # reduced copy shared by every check but blur
    # blur: re-blur ratio (Crete et al. 2007) of ink patches at full resolution, 0 sharp .. 1 flat.
    # Sharp print measures 0.08-0.15 at native resolution (phone photos, the simulated camera);
    # missed focus or a shaken stand 0.3 and up.
    blur_max: float = 0.22
    blur_patch_px: int = 96  # patch side in full-resolution pixels
    blur_patches: int = 8  # the inkiest patches are measured; their lower quartile decides
    # Why not the median: the inkiest patches of a page with a bold title block are mostly
    # that block, and at ~260 dpi a sharp bold stroke is wider than the 9-tap re-blur, so its
    # lone edges read 0.2-0.27 where body text reads ~0.1 (a thin stroke's two edges cancel
    # inside the window). Blur is one for the whole frame and never makes a patch sharper:
    # the sharper patches tell focus, the duller ones may only tell typography.
    blur_quantile: float = 25.0
    # glare: near-white, colourless blobs brighter than the paper around them.
    # HSV value: a reflection clips the sensor; well-lit paper reaches ~250 but not 253.
    glare_value_min: int = 253
    glare_above_paper: int = 12  # ...and at least this much above the page's median
    glare_saturation_max: int = 40
    glare_min_area_fraction: float = 0.004  # of the page area, for the largest blob
    glare_max_area_fraction: float = 0.4  # a "blob" this big is an overexposed page, not glare
    # cut-off: page within this fraction of the frame edge, or page-like content on it.
    cutoff_margin_fraction: float = 0.006
    cutoff_min_area_fraction: float = 0.05  # paper touching the edge when no page was found
    cutoff_weak_side: float = 0.8  # a page side with less edge support may not be the page's end
    cutoff_run_max: float = 0.35  # ...if page paper runs on from it to a frame edge this near
    skew_max_deg: float = 5.0
    # blank: ink fraction of the rectified page (adaptive threshold, specks removed).
    blank_ink_min: float = 0.002
    blank_margin_fraction: float = 0.05  # page border ignored (shadow lines, rough edges)
    # duplicate: Hamming distance of 255-bit DCT fingerprints of the rectified page.
    duplicate_max_bits: int = 70  # same page re-shot: 15-55; different pages: 90+
    hand_check: bool = True
    hand_min_score: float = 0.5
    hand_min_box_fraction: float = 0.05  # palm box side vs frame long side: no printed hands
    hand_page_margin: float = 0.35  # the page quad grown by this much about its centre is "at the page"
    page: PageDetectParams = field(default_factory=PageDetectParams)


@dataclass(frozen=True)
class QcFlag:
    """One check's answer; `reason_key` is the UI message key, `score` the measured value."""

    key: str
    flagged: bool
    score: float
    reason_key: str
    note: str = ""  # why the check could not judge, if it could not

    def as_dict(self) -> dict[str, Any]:
        """The flag as stored with a capture or page and shown in JSON."""
        return {"key": self.key, "flagged": self.flagged, "score": round(self.score, 4),
                "reason_key": self.reason_key}


@dataclass(frozen=True, eq=False)
class QcVerdict:
    """All flags of one shot, the page found, and the fingerprint for the next shot."""

    flags: tuple[QcFlag, ...]
    fingerprint: str | None
    page: PageDetection
    timings_ms: dict[str, float]

    @property
    def ok(self) -> bool:
        return not any(f.flagged for f in self.flags)

    @property
    def reasons(self) -> list[str]:
        return [f.reason_key for f in self.flags if f.flagged]

    def flag(self, key: str) -> QcFlag:
        return next(f for f in self.flags if f.key == key)


def _flag(key: str, flagged: bool, score: float, note: str = "") -> QcFlag:
    return QcFlag(key, bool(flagged), float(score), f"qc.{key}", note)


#: A shot of an open register (layout "spread") whose two facing pages were not found: the
#: capture is kept as one page and the operator is asked to retake it. Not one of `assess`'s
#: checks: whoever splits the spread (capture, import, `sohoa process --spread`) adds it.
SPREAD_NOT_FOUND = "spread_not_found"
#: The operator's text for the reason keys added outside `assess`, by language.
REASON_TEXT = {
    "qc.spread_not_found": {
        "vi": "Không tìm thấy hai trang của sổ đang mở; hãy đặt sổ ngay ngắn và chụp lại.",
        "en": "The open register's two pages were not found; lay it square and retake the shot.",
    },
}


def spread_not_found(note: str) -> QcFlag:
    """The flag of a capture meant as two facing pages that did not split (`note`: why)."""
    return _flag(SPREAD_NOT_FOUND, True, 1.0, note)


def _gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def page_mask(shape: tuple[int, ...], quad: np.ndarray, shrink: float = 0.0) -> np.ndarray:
    """uint8 mask of the quad (shrunk towards its centre by `shrink`) on an image of `shape`."""
    centre = quad.mean(axis=0)
    pts = centre + (quad - centre) * (1.0 - shrink)
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, np.round(pts).astype(np.int32), 255)
    return mask


def rectify(image: np.ndarray, quad: np.ndarray, long_side: int) -> np.ndarray:
    """The page warped to a rectangle whose long side is `long_side`, keeping its aspect: a
    small copy for the blank and duplicate checks (the master's own size comes from the paper
    and the resolved dpi, `device.imaging.rectify`); the same warp either way."""
    sides = side_lengths(quad)
    width, height = (sides[0] + sides[2]) / 2, (sides[1] + sides[3]) / 2
    k = long_side / max(width, height, 1.0)
    return warp_quad(image, quad, (max(8, round(width * k)), max(8, round(height * k))))


def reblur_ratio(patch: np.ndarray) -> float:
    """Crete's no-reference blur: how much of the patch's pixel-to-pixel variation survives a
    9-tap box blur. Content-normalised (a ratio), so it barely depends on how much text there is."""
    f = patch.astype(np.float32)
    worst = 0.0
    for axis, ksize in ((0, (1, 9)), (1, (9, 1))):
        b = cv2.blur(f, ksize)
        d_f = np.abs(np.diff(f, axis=axis))
        d_b = np.abs(np.diff(b, axis=axis))
        # Only the steepest tenth of the steps: edge sharpness, not how much text or how thick
        # its strokes; paper grain and sensor noise stay out too.
        keep = d_f >= max(2.0, float(np.percentile(d_f, 90)))
        s_f = float(d_f[keep].sum())
        if s_f <= 0:
            return 1.0
        s_v = float(np.maximum(0.0, d_f - d_b)[keep].sum())
        worst = max(worst, (s_f - s_v) / s_f)
    return worst


def check_blur(image: np.ndarray, quad: np.ndarray | None, params: QcParams) -> QcFlag:
    """Lower quartile (`blur_quantile`) of the re-blur ratios of the inkiest full-resolution
    patches inside the page (quad in `image` pixels). A page without ink cannot look blurred:
    unflagged, with a note."""
    gray = _gray(image)
    h, w = gray.shape
    p = params.blur_patch_px
    if quad is None:
        quad = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
    # Candidate patch centres on a grid inside the page; rank by local contrast on a coarse view.
    step = max(1, math.ceil(max(h, w) / 256))
    coarse = gray[::step, ::step]
    inner = page_mask(coarse.shape, quad / step, shrink=0.1)
    grad = cv2.morphologyEx(coarse, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    cell = max(2, p // step)
    scores = []
    for y in range(0, coarse.shape[0] - cell + 1, cell):
        for x in range(0, coarse.shape[1] - cell + 1, cell):
            if inner[y + cell // 2, x + cell // 2]:
                scores.append((float(grad[y : y + cell, x : x + cell].mean()), x * step, y * step))
    scores.sort(reverse=True)
    ratios = [
        reblur_ratio(gray[y : y + p, x : x + p])
        for s, x, y in scores[: params.blur_patches]
        if s >= 6.0  # a patch with no ink edge says nothing about focus
    ]
    if not ratios:
        return _flag("blur", False, 0.0, "no ink to judge focus by")
    score = float(np.percentile(ratios, params.blur_quantile))
    return _flag("blur", score > params.blur_max, score)


def check_glare(small: np.ndarray, quad: np.ndarray | None, params: QcParams) -> QcFlag:
    """Largest near-white, colourless blob inside the page, as a fraction of the page area."""
    if small.ndim == 2:
        value, sat = small, np.zeros_like(small)
    else:
        hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
        value, sat = hsv[..., 2], hsv[..., 1]
    if quad is None:
        return _flag("glare", False, 0.0, "no page")
    inside = page_mask(small.shape, quad, shrink=0.02)
    area = float(np.count_nonzero(inside))
    paper = float(np.median(value[inside > 0])) if area else 255.0
    level = max(params.glare_value_min, min(254.0, paper + params.glare_above_paper))
    hot = ((value >= level) & (sat <= params.glare_saturation_max) & (inside > 0)).astype(np.uint8)
    # A reflection is a solid patch; speckle of bright paper grain is not.
    hot = cv2.morphologyEx(hot, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(hot, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA] / max(area, 1.0)
    areas = areas[areas <= params.glare_max_area_fraction]
    score = float(areas.max()) if areas.size else 0.0
    return _flag("glare", score >= params.glare_min_area_fraction, score)


def _paper_on_edge(small: np.ndarray, quad: np.ndarray, margin: int) -> float:
    """Largest share, over the four frame edges, of the edge strip under the quad that looks
    like the page's paper. A quad leaning out over desk is a poor fit, not a cut page; paper
    reaching the edge is."""
    h, w = small.shape[:2]
    paper = cue_maps(small).paper
    inside = page_mask(small.shape, quad) > 0
    core = page_mask(small.shape, quad, shrink=0.1) > 0
    # The page's blank paper is its brightest tenth; vignetting may dim the edge by ~20%.
    level = 0.8 * float(np.percentile(paper[core], 90)) if core.any() else 255.0
    best = 0.0
    for strip, under in (
        (paper[:margin], inside[:margin]),
        (paper[-margin:], inside[-margin:]),
        (paper[:, :margin], inside[:, :margin]),
        (paper[:, -margin:], inside[:, -margin:]),
    ):
        # Fewer than 2% of the edge's length under the quad: a corner grazing it, not a run.
        if under.sum() >= 0.02 * max(strip.shape) * margin:
            best = max(best, float((strip[under] >= level).mean()))
    return best


def _exit_distance(point: np.ndarray, direction: np.ndarray, w: int, h: int) -> float:
    """How far from `point` along unit `direction` the frame ends."""
    limits = []
    for value, step, size in ((point[0], direction[0], w), (point[1], direction[1], h)):
        if step > 1e-6:
            limits.append((size - 1 - value) / step)
        elif step < -1e-6:
            limits.append(-value / step)
    return max(0.0, min(limits, default=0.0))


def _page_runs_on(small: np.ndarray, quad: np.ndarray, params: QcParams) -> float:
    """For a page whose weak side stops short of the frame edge (a text line mistaken for the
    bottom of a page hanging out of the frame): the share of that side from which page-like
    paper runs on, unbroken in the median, to the frame edge. The largest over weak sides."""
    h, w = small.shape[:2]
    maps = cue_maps(small)
    quad = order_corners(quad)
    support = side_support(quad, maps, params.page)
    core = page_mask(small.shape, quad, shrink=0.1) > 0
    if not core.any():
        return 0.0
    level = 0.85 * float(np.percentile(maps.paper[core], 90))  # blank paper, a little dimmer
    best = 0.0
    for i in np.flatnonzero(support < params.cutoff_weak_side):
        start, end = quad[i], quad[(i + 1) % 4]
        along = (end - start) / (np.linalg.norm(end - start) + 1e-9)
        normal = np.array([along[1], -along[0]])  # outward for TL, TR, BR, BL
        hits = []
        for t in np.linspace(0.15, 0.85, 9):
            p = start + t * (end - start)
            dist = _exit_distance(p, normal, w, h)
            if dist > params.cutoff_run_max * max(w, h):
                hits.append(False)
                continue
            steps = np.arange(3.0, dist, 3.0)
            if steps.size < 4:  # on the edge already: `_paper_on_edge` judges that
                hits.append(False)
                continue
            xs = np.clip(np.round(p[0] + steps * normal[0]).astype(int), 0, w - 1)
            ys = np.clip(np.round(p[1] + steps * normal[1]).astype(int), 0, h - 1)
            values = maps.paper[ys, xs].astype(np.float32)
            # Page, not a pale desk: paper-bright, with some ink on the way. (A blank margin
            # alone cannot be told from a white desk, so it does not count.)
            hits.append(float(np.median(values)) >= level and float(np.mean(values < level - 25)) >= 0.03)
        best = max(best, float(np.mean(hits)))
    return best


def _paper_off_edge(small: np.ndarray) -> float:
    """No page found: area fraction of the largest paper-like region touching the frame edge."""
    h, w = small.shape[:2]
    paper = cue_maps(small).paper
    t, _ = cv2.threshold(paper, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = (paper > max(t, 140)).astype(np.uint8)  # paper is bright whatever Otsu says
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return max((float(stats[i, cv2.CC_STAT_AREA]) for i in edge if i != 0), default=0.0) / (w * h)


def check_cutoff(
    small: np.ndarray, detection: PageDetection, quad: np.ndarray | None, params: QcParams
) -> QcFlag:
    """Paper running off the frame. With a page: two of its corners on or past one frame edge
    (score 1); or its quad on the edge with paper there, or a weak side from which page paper
    runs on to the edge (score: the larger share). With no page: a large paper-like region on
    the edge (score: its area fraction)."""
    h, w = small.shape[:2]
    if quad is None:
        area = _paper_off_edge(small)
        flagged = area >= params.cutoff_min_area_fraction
        return _flag("cutoff", flagged, area, "" if flagged else "no page found")
    margin = max(2, round(params.cutoff_margin_fraction * max(w, h)))
    x, y = quad[:, 0], quad[:, 1]
    out = [x < margin, y < margin, x > w - 1 - margin, y > h - 1 - margin]  # per frame edge
    # Two corners on one frame edge: the page is clipped by it (both its sides cross it).
    # One corner only may be a quad leaning out over desk: then paper must be seen there.
    if max(int(o.sum()) for o in out) >= 2:
        return _flag("cutoff", True, 1.0)
    near = any(bool(o.any()) for o in out)
    on_edge = _paper_on_edge(small, quad, margin) if near or detection.touches_border else 0.0
    runs_on = _page_runs_on(small, quad, params)
    return _flag("cutoff", on_edge >= 0.5 or runs_on >= 0.5, max(on_edge, runs_on))


def check_skew(quad: np.ndarray | None, params: QcParams) -> QcFlag:
    """In-plane angle of the page beyond the limit (either way)."""
    if quad is None:
        return _flag("skew", False, 0.0, "no page")
    angle = page_angle(quad)
    return _flag("skew", abs(angle) > params.skew_max_deg, angle)


def ink_fraction(page_gray: np.ndarray, margin: float) -> float:
    """Share of dark marks on a rectified page: adaptive threshold (immune to shading and
    shadows), specks smaller than a small letter's dot removed."""
    h, w = page_gray.shape
    my, mx = round(h * margin), round(w * margin)
    core = page_gray[my : h - my, mx : w - mx]
    if core.size == 0:
        return 0.0
    block = max(15, (min(core.shape) // 20) | 1)
    ink = cv2.adaptiveThreshold(core, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 18)
    ink = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    return float(np.count_nonzero(ink)) / ink.size


def check_blank(page_gray: np.ndarray | None, params: QcParams) -> QcFlag:
    """No ink on the page."""
    if page_gray is None:
        return _flag("blank", False, 0.0, "no page")
    fraction = ink_fraction(page_gray, params.blank_margin_fraction)
    return _flag("blank", fraction < params.blank_ink_min, fraction)


def fingerprint(page_gray: np.ndarray) -> str:
    """255-bit perceptual hash (16x16 lowest DCT terms minus DC, against their median), hex.

    Taken on the rectified page, so a page nudged or turned slightly hashes the same; 16x16
    terms (not pHash's 8x8) so two pages of running text with the same layout differ."""
    small = cv2.resize(page_gray, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)
    coeffs = cv2.dct(small)[:16, :16].ravel()[1:]
    bits = coeffs > np.median(coeffs)
    return np.packbits(np.concatenate([bits, [False]])).tobytes().hex()


def hamming(a: str, b: str) -> int:
    """Differing bits between two fingerprints of the same length."""
    x, y = np.frombuffer(bytes.fromhex(a), np.uint8), np.frombuffer(bytes.fromhex(b), np.uint8)
    if x.shape != y.shape:
        return 8 * max(x.size, y.size)
    return int(np.unpackbits(x ^ y).sum())


def check_duplicate(current: str, previous: str | None, params: QcParams) -> QcFlag:
    """The same page as the previous shot (fingerprints within the bit limit)."""
    if not previous:
        return _flag("duplicate", False, -1.0, "no previous shot")
    distance = hamming(current, previous)
    return _flag("duplicate", distance <= params.duplicate_max_bits, distance)


def check_hand(
    small: np.ndarray, detector: HandDetector | None, params: QcParams, quad: np.ndarray | None = None
) -> QcFlag:
    """A hand on (or at the edge of) the page, big enough to be a real one, not a printed one.

    Only palms over the page grown by `hand_page_margin` count: a hand elsewhere hides nothing,
    and the palm detector's false alarms are brown round things on the desk (a cup, wood
    knots) off the page. With no page found, any palm counts."""
    if detector is None:
        return _flag("hand", False, 0.0, "no hand detector")
    h, w = small.shape[:2]
    near_page = None if quad is None else page_mask(small.shape, quad, shrink=-params.hand_page_margin)
    best = 0.0
    for hand in detector(small):
        x0, y0, x1, y1 = hand.box  # type: ignore[attr-defined]
        if max(x1 - x0, y1 - y0) < params.hand_min_box_fraction * max(h, w):
            continue
        if near_page is not None:
            ix0, iy0 = max(0, int(x0)), max(0, int(y0))
            ix1, iy1 = min(w, int(math.ceil(x1))), min(h, int(math.ceil(y1)))
            if ix1 <= ix0 or iy1 <= iy0 or not near_page[iy0:iy1, ix0:ix1].any():
                continue
        best = max(best, float(hand.score))  # type: ignore[attr-defined]
    return _flag("hand", best >= params.hand_min_score, best)


def default_hand_detector() -> HandDetector | None:
    """The packaged palm detector, or None (logged) when LiteRT or the model is missing."""
    from device.models.palm_detection import default_detector
    from device.models.runner import ModelUnavailable

    try:
        return default_detector()
    except ModelUnavailable as error:
        log.warning("hand check disabled: %s", error)
        return None


class _Clock:
    """Milliseconds per named step, for the verdict and the benchmark."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.times[name] = round((now - self._last) * 1000.0, 2)
        self._last = now


def assess(
    image: np.ndarray,
    previous_fingerprint: str | None = None,
    params: QcParams = QcParams(),
    hand_detector: HandDetector | None = None,
) -> QcVerdict:
    """Run every shutter check on one frame (BGR or grey uint8, any size).

    `hand_detector` defaults to the packaged palm detector; set `params.hand_check=False` to skip
    the hand check. The returned fingerprint goes into the next call as `previous_fingerprint`."""
    clock = _Clock()
    small, scale = reduce_image(image, params.work_long_side)
    clock.lap("reduce")
    detection = detect_page(small, params.page)
    quad = detection.quad  # in `small` pixels: detect_page did not reduce it further
    clock.lap("detect_page")
    # Reduced pixel i covers input pixels [i/scale, (i+1)/scale): map centres to centres.
    full_quad = None if quad is None else (quad + 0.5) / np.float32(scale) - 0.5
    flags = [
        check_blur(image, full_quad, params)
        if full_quad is not None
        else _flag("blur", False, 0.0, "no page")
    ]
    clock.lap("blur")
    flags.append(check_glare(small, quad, params))
    clock.lap("glare")
    flags.append(check_cutoff(small, detection, quad, params))
    clock.lap("cutoff")
    flags.append(check_skew(quad, params))
    gray = _gray(small)
    page_gray = rectify(gray, quad, 640) if quad is not None else None
    clock.lap("skew")
    flags.append(check_blank(page_gray, params))
    clock.lap("blank")
    current = fingerprint(page_gray if page_gray is not None else gray)
    flags.append(check_duplicate(current, previous_fingerprint, params))
    clock.lap("duplicate")
    if params.hand_check:
        flags.append(check_hand(small, hand_detector or default_hand_detector(), params, quad))
        clock.lap("hand")
    if quad is None:
        flags.append(_flag("no_page", True, detection.confidence, detection.reason))
    page = PageDetection(
        full_quad,
        detection.confidence,
        detection.reason,
        detection.method,
        detection.touches_border,
        scale,
        detection.details,
    )
    clock.times["total"] = round(sum(clock.times.values()), 2)
    return QcVerdict(tuple(flags), current, page, clock.times)
