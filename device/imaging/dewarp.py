"""Straightens the curved text lines of a bound page (curl beside a spine) on a rectified page.

In the spirit of mzucker's page_dewarp (text lines sampled, a smooth page model fitted to
them, the page remapped once), with a model that is linear to fit. On a reduced copy the
text lines are found: the page is cut into overlapping vertical strips; the row profile of
ink in each strip peaks at every text line crossing it; peaks of neighbouring strips are
chained into lines. Each centreline sample (x, y) of line i is explained as

    y = Y_i + S * x + f(x, y)

where Y_i is the line's height, S the page's rotation (left for deskew) and f one smooth
vertical displacement shared by all lines: cubic B-splines across x (a second-difference
penalty keeps it smooth and makes it extrapolate straight into the margins) times Legendre
polynomials of degree 2 in y (a camera over a curled page magnifies radially, so lines above
and below the lens bend in opposite directions and grow apart). f holds no offset in x (that
is only a line's height) and, for the y-constant part, no slope either (that is rotation).
It is fitted by least squares reweighted with Huber weights, so a stray mark or a merged
line does not pull it. The full-resolution page is remapped once (cv2.remap, rows only)
through maps computed on a 16-pixel grid.

Why not mzucker's full 3-D model: its pose + cubic-surface optimisation (Powell over ~100
parameters) takes seconds; this fit takes a few milliseconds and brought the OCR error of
simulated thick-register pages back to that of the same pages lying flat
(bench/eval_dewarp.py). What it does not undo is the horizontal squeeze of glyphs right
beside the spine (foreshortening); on the simulated pages that cost no measurable CER.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from device.imaging.page import reduce_image
from device.imaging.stages import StageResult

log = logging.getLogger(__name__)

_GRID_STEP = 16  # full-resolution pixels between nodes of the coarse remap grid


@dataclass(frozen=True)
class DewarpParams:
    """Tuning of the dewarp stage. Pixel values are of the reduced working copy unless said."""

    work_long_side: int = 1100  # the model is fitted on a copy reduced to this (integer step)
    min_lines: int = 5  # fewer text lines than this: nothing to model the page with
    # A page whose fitted field would move its text less than this (95th percentile over the
    # line samples, in character heights) is flat and left untouched. Flat simulated pages
    # measure 0.02-0.07, the everyday bound page (curl 1) 0.25-0.4, a thick register 0.5-0.9.
    # 0.08 was chosen on tuning seeds 620000+ (8 bound pages at curl 1.5, 8 loose ones): CER
    # 0.83% -> 0.61% on the bound pages (dewarped 4 -> 7 of 8), 0.50% unchanged on the loose.
    flat_fraction: float = 0.08
    segments: int = 16  # B-spline segments across the page width
    y_degree: int = 2  # polynomial degree of the field along y
    smoothness: float = 0.03  # weight of the second-difference penalty (relative to the data)
    huber: float = 1.5  # residuals beyond this many quarter character heights weigh less
    iterations: int = 4  # reweighting rounds
    max_shift_fraction: float = 0.08  # a field moving rows farther than this x the height is wrong


@dataclass(frozen=True, eq=False)
class TextLines:
    """Centreline samples of the text lines found on a reduced copy of a page."""

    x: np.ndarray  # (n,) sample positions, working pixels
    y: np.ndarray  # (n,) centreline heights there
    line_index: np.ndarray  # (n,) which line each sample belongs to, 0..count-1
    count: int
    char_height: float  # median character height, working pixels
    size: tuple[int, int]  # (width, height) of the working copy
    scale: float  # working copy / input

    def with_y(self, y: np.ndarray) -> TextLines:
        return TextLines(self.x, y, self.line_index, self.count, self.char_height, self.size, self.scale)


def _ink(small: np.ndarray) -> np.ndarray:
    """Dark marks on the page: adaptive threshold against the local mean (uneven light)."""
    block = max(15, (min(small.shape) // 25) | 1)
    spread = float(np.percentile(small, 95) - np.percentile(small, 5))
    c = max(6.0, 0.12 * spread)
    ink = cv2.adaptiveThreshold(small, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, c)
    # The page's own border (a sliver of desk or shadow left by rectification) is not text.
    h, w = ink.shape
    mx, my = max(2, w // 60), max(2, h // 60)
    ink[:my], ink[-my:], ink[:, :mx], ink[:, -mx:] = 0, 0, 0, 0
    return ink


def _char_height(ink: np.ndarray) -> float:
    """Median height of glyph-sized connected components (0 when there are none)."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    widths = stats[1:, cv2.CC_STAT_WIDTH]
    area = stats[1:, cv2.CC_STAT_AREA]
    glyph = (heights >= 3) & (heights <= ink.shape[0] // 20) & (widths <= 4 * heights) & (area >= 6)
    return float(np.median(heights[glyph])) if glyph.sum() >= 20 else 0.0


def _strip_peaks(ink: np.ndarray, width: int, ch: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row profiles of ink in vertical strips `width` wide every width/2 (overlapping),
    smoothed; their local maxima (sub-pixel) are the centres of the text lines crossing each
    strip. Returns strip index, x and y of each peak."""
    stride = max(2, width // 2)
    dense = cv2.blur((ink > 0).astype(np.float32), (width, 1), borderType=cv2.BORDER_CONSTANT)
    centres = np.arange(width // 2, ink.shape[1] - width // 2, stride)
    prof = cv2.GaussianBlur(np.ascontiguousarray(dense[:, centres]), (1, 0), sigmaX=0.1, sigmaY=max(1.0, ch / 3))
    up, down = prof[1:-1] > prof[:-2], prof[1:-1] >= prof[2:]
    rows, cols = np.nonzero(up & down & (prof[1:-1] >= 0.1))
    rows += 1
    a, b, c = prof[rows - 1, cols], prof[rows, cols], prof[rows + 1, cols]
    denom = a - 2 * b + c
    offset = np.where(np.abs(denom) > 1e-6, 0.5 * (a - c) / np.where(denom == 0, 1, denom), 0.0)
    return cols, centres[cols].astype(np.float64), rows + np.clip(offset, -0.5, 0.5)


def _link(cols: np.ndarray, xs: np.ndarray, ys: np.ndarray, tol: float, max_gap: int) -> list[np.ndarray]:
    """Chain peaks of neighbouring strips into lines, strip by strip from the left: an open
    line and a peak are joined when each is the other's nearest (the line's guess follows its
    recent slope) and they are within `tol`; a line unmatched for `max_gap` strips closes."""
    order = np.lexsort((ys, cols))
    splits = np.flatnonzero(np.diff(cols[order])) + 1
    chains: list[list[int]] = []
    open_ids = np.zeros(0, int)
    for group in np.split(order, splits):
        col = cols[group[0]]
        if open_ids.size:
            last = np.array([chains[i][-1] for i in open_ids])
            open_ids = open_ids[col - cols[last] <= max_gap]
            last = last[col - cols[last] <= max_gap]
        matched = np.zeros(len(group), bool)
        if open_ids.size:
            prev = np.array([chains[i][-3] if len(chains[i]) >= 3 else chains[i][-1] for i in open_ids])
            slope = (ys[last] - ys[prev]) / np.maximum(1.0, xs[last] - xs[prev])
            guess = ys[last] + slope * (xs[group[0]] - xs[last])
            dist = np.abs(guess[:, None] - ys[group][None, :])
            near_peak, near_line = dist.argmin(axis=1), dist.argmin(axis=0)
            for li, pk in enumerate(near_peak):
                if near_line[pk] == li and dist[li, pk] <= tol:
                    chains[open_ids[li]].append(int(group[pk]))
                    matched[pk] = True
        new = [len(chains) + k for k in range(int((~matched).sum()))]
        chains.extend([int(k)] for k in group[~matched])
        open_ids = np.concatenate([open_ids, np.array(new, int)])
    return [np.array(c) for c in chains]


def find_text_lines(grey: np.ndarray, work_long_side: int = 1100) -> TextLines:
    """Text lines of a page (grey uint8) as centreline samples on a reduced copy.

    The page is cut into vertical strips about three characters wide; in each, the row
    profile of ink peaks at the middle of every text line crossing it (diacritics and
    descenders only widen the peaks, they do not join lines as a dilated blob would). Peaks
    of neighbouring strips are chained into lines; chains long enough to be text are kept."""
    small, scale = reduce_image(grey, work_long_side)
    h, w = small.shape
    ink = _ink(small)
    ch = _char_height(ink)
    empty = TextLines(np.zeros(0), np.zeros(0), np.zeros(0, int), 0, ch, (w, h), scale)
    if ch <= 0:
        return empty
    # Marks far larger than a glyph (pictures, stamps, rules, table borders) are not text.
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    ch_w, ch_h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    big = (ch_h > 3 * ch) | ((ch_h < 0.4 * ch) & (ch_w > 8 * ch))
    big[0] = False
    if big.any():
        ink = np.where(big[labels], 0, ink).astype(np.uint8)
    width = max(4, int(round(2.5 * ch)))
    cols, xs, ys = _strip_peaks(ink, width, ch)
    chains = [c for c in _link(cols, xs, ys, 0.45 * ch, 6) if len(c) >= 10]
    chains = [c for c in chains if xs[c[-1]] - xs[c[0]] >= max(8 * ch, 0.08 * w)]
    if not chains:
        return empty
    idx = np.concatenate([np.full(len(c), i) for i, c in enumerate(chains)])
    flat = np.concatenate(chains)
    return TextLines(xs[flat], ys[flat], idx, len(chains), ch, (w, h), scale)


def line_curvatures(lines: TextLines) -> np.ndarray:
    """Per line: the largest gap between its smooth (cubic) fit and its straight fit, in
    working pixels. A straight but tilted line measures ~0; noise of the centreline is smoothed."""
    out = np.zeros(lines.count)
    for i in range(lines.count):
        sel = lines.line_index == i
        x, y = lines.x[sel], lines.y[sel]
        u = (x - x.mean()) / max(1.0, float(np.ptp(x)))
        cubic = np.polynomial.polynomial.polyfit(u, y, 3)
        straight = np.polynomial.polynomial.polyfit(u, y, 1)
        grid = np.linspace(u.min(), u.max(), 32)
        gap = np.polynomial.polynomial.polyval(grid, cubic) - np.polynomial.polynomial.polyval(grid, straight)
        out[i] = float(np.abs(gap).max())
    return out


def _bspline_basis(x: np.ndarray, segments: int, width: float) -> np.ndarray:
    """Uniform cubic B-spline basis on [0, width]: (len(x), segments + 3), rows sum to 1."""
    u = np.clip(np.asarray(x, np.float64) / width * segments, 0.0, segments - 1e-9)
    i = np.floor(u).astype(int)
    t = u - i
    out = np.zeros((u.size, segments + 3))
    weights = (
        (1 - t) ** 3 / 6,
        (3 * t**3 - 6 * t**2 + 4) / 6,
        (-3 * t**3 + 3 * t**2 + 3 * t + 1) / 6,
        t**3 / 6,
    )
    rows = np.arange(u.size)
    for k, w in enumerate(weights):
        out[rows, i + k] = w
    return out


def _legendre(y: np.ndarray, degree: int, height: float) -> np.ndarray:
    """Legendre polynomials of y mapped to [-1, 1]: (len(y), degree + 1)."""
    v = 2.0 * np.asarray(y, np.float64) / height - 1.0
    return np.polynomial.legendre.legvander(v, degree)


@dataclass(frozen=True, eq=False)
class Field:
    """The fitted vertical displacement f(x, y) on the working copy (width x height pixels).

    f = sum_l g_l(x) * P_l(y): g_0 has no offset and no slope in x (those are each line's
    height and the page's rotation, which deskew owns); g_1, g_2 have no offset in x (that
    too is only a change of each line's height)."""

    coef: np.ndarray  # (segments + 3, y_degree + 1)
    trend: np.ndarray  # (segments + 3, 2): each x basis function's least-squares a + b * x / width
    segments: int
    width: float
    height: float

    def x_bases(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The x basis without its straight-line part (for g_0) and without its mean (the rest)."""
        b = _bspline_basis(x, self.segments, self.width)
        xn = np.asarray(x, np.float64)[:, None] / self.width
        no_offset = b - self.trend[:, 0] - 0.5 * self.trend[:, 1]
        return no_offset - (xn - 0.5) * self.trend[:, 1], no_offset

    def tensor(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The design rows of f at points (x, y): (n, (segments + 3) * (y_degree + 1))."""
        straight, flat = self.x_bases(x)
        ly = _legendre(y, self.coef.shape[1] - 1, self.height)
        t = flat[:, :, None] * ly[:, None, :]
        t[:, :, 0] = straight * ly[:, :1]
        return t.reshape(len(x), -1)

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.tensor(np.ravel(x), np.ravel(y)) @ self.coef.ravel()

    def profiles(self, x: np.ndarray) -> np.ndarray:
        """g_l(x) for every l: (len(x), y_degree + 1), so that f = profiles(x) . P(y)."""
        straight, flat = self.x_bases(np.ravel(x))
        out = flat @ self.coef
        out[:, 0] = straight @ self.coef[:, 0]
        return out


def _trend_matrix(segments: int, width: float) -> np.ndarray:
    """Least-squares straight line (a + b * x / width) through each basis function over [0, width]."""
    grid = np.linspace(0.0, width, 8 * (segments + 3))
    b = _bspline_basis(grid, segments, width)
    q = np.stack([np.ones_like(grid), grid / width], axis=1)
    sol, *_ = np.linalg.lstsq(q, b, rcond=None)  # (2, K)
    return sol.T


def fit_field(lines: TextLines, params: DewarpParams) -> tuple[Field, np.ndarray]:
    """Fit f, each line's height and the page's slope to the centreline samples (reweighted
    least squares); also return the final residuals (working pixels) of every sample."""
    width, height = lines.size
    seg, deg = params.segments, params.y_degree
    n_lines, n_k, n_l = lines.count, seg + 3, deg + 1
    empty = Field(np.zeros((n_k, n_l)), _trend_matrix(seg, width), seg, float(width), float(height))
    x, y, idx = lines.x, lines.y, lines.line_index
    own = np.zeros((len(x), n_lines + 1))
    own[np.arange(len(x)), idx] = 1.0
    own[:, n_lines] = (x - width / 2) / width  # one slope for the page: its rotation
    design = np.hstack([own, empty.tensor(x, y)])
    n_own = n_lines + 1
    # Second differences of the coefficients along x, per y order (a P-spline penalty), and a
    # whisper of ridge so the combinations that detrending made null stay at zero.
    d2 = np.diff(np.eye(n_k), 2, axis=0)
    penalty = np.kron(d2, np.eye(n_l))
    reg = params.smoothness * len(x) / max(1, penalty.shape[0])
    prior = reg * penalty.T @ penalty + 1e-6 * np.eye(n_k * n_l)
    scale = params.huber * lines.char_height / 4.0
    weights = np.ones(len(x))
    for _ in range(params.iterations):
        a = design * weights[:, None]
        # einsum, not a BLAS product: ~2 ms on one core, where OpenBLAS's thread pool in a
        # worker that already uses every core cost 50-200 ms a call under load.
        lhs = np.einsum("ni,nj->ij", a, design)
        lhs[n_own:, n_own:] += prior
        sol = np.linalg.solve(lhs, np.einsum("ni,n->i", a, y))
        resid = y - np.einsum("ni,i->n", design, sol)
        weights = np.minimum(1.0, scale / np.maximum(np.abs(resid), 1e-9))  # Huber
    coef = sol[n_own:].reshape(n_k, n_l)
    return Field(coef, empty.trend, seg, float(width), float(height)), resid


def _remap_maps(field: Field, shape: tuple[int, int], scale: float) -> tuple[np.ndarray, np.ndarray]:
    """cv2.remap maps (full resolution) that take output row Y to the input row y with
    y - f(x, y) = Y, found by fixed-point iteration on a coarse grid and upsampled."""
    h, w = shape
    gw, gh = -(-w // _GRID_STEP), -(-h // _GRID_STEP)
    # Coarse node i stands for pixel (i + 0.5) * step - 0.5, which is what cv2.resize's
    # linear interpolation assumes when it upsamples by `step` (as in the simulator's grids).
    gx = (np.arange(gw) + 0.5) * _GRID_STEP - 0.5
    gy = (np.arange(gh) + 0.5) * _GRID_STEP - 0.5
    # Full-resolution pixel p is working pixel (p + 0.5) * scale - 0.5.
    g = field.profiles((gx + 0.5) * scale - 0.5)  # (gw, L): f is separable in x and y
    s_out = np.repeat(((gy + 0.5) * scale - 0.5)[:, None], gw, axis=1)
    sy = s_out.copy()
    for _ in range(4):
        ly = _legendre(sy.ravel(), g.shape[1] - 1, field.height).reshape(gh, gw, -1)
        sy = s_out + np.einsum("hwl,wl->hw", ly, g)
    coarse = ((sy + 0.5) / scale - 0.5).astype(np.float32)
    map_y = cv2.resize(coarse, (gw * _GRID_STEP, gh * _GRID_STEP), interpolation=cv2.INTER_LINEAR)
    map_x = np.empty((h, w), np.float32)
    map_x[:] = np.arange(w, dtype=np.float32)
    return map_x, map_y[:h, :w]


def _bend(lines: TextLines, field: Field) -> float:
    """How far the field would move text relative to itself: the 95th percentile over the
    samples of |f| minus its mean along each sample's line (working pixels)."""
    f = field(lines.x, lines.y)
    sums = np.bincount(lines.line_index, f, lines.count)
    counts = np.bincount(lines.line_index, None, lines.count)
    return float(np.percentile(np.abs(f - (sums / np.maximum(counts, 1))[lines.line_index]), 95))


def _grey(page: np.ndarray) -> np.ndarray:
    return page if page.ndim == 2 else cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)


def _bad_input(page: np.ndarray) -> str:
    if not isinstance(page, np.ndarray) or page.ndim not in (2, 3) or page.dtype != np.uint8:
        return "dewarp.bad_input"
    if min(page.shape[:2]) < 64:
        return "dewarp.bad_input"
    return ""


def dewarp(page: np.ndarray, params: DewarpParams = DewarpParams()) -> StageResult:
    """The page with its text lines straightened (BGR or grey uint8, same size), or the input
    with a reason: dewarp.flat, dewarp.too_few_lines, dewarp.bad_input, dewarp.implausible.

    details (full-resolution pixels): lines, char_height_px, curvature_before_px (mean over
    lines of the largest gap between a line's cubic and straight fits), bend_px (how far the
    field moves text relative to itself, 95th percentile), and when applied max_shift_px,
    curvature_after_px (the same measure on the samples moved by the field) and residual_px."""
    reason = _bad_input(page)
    if reason:
        return StageResult(page, False, reason, {})
    lines = find_text_lines(_grey(page), params.work_long_side)
    to_full = 1.0 / lines.scale
    details: dict[str, float | int] = {"lines": lines.count, "char_height_px": round(lines.char_height * to_full, 1)}
    if lines.count < params.min_lines:
        return StageResult(page, False, "dewarp.too_few_lines", details)
    details["curvature_before_px"] = round(float(np.mean(line_curvatures(lines))) * to_full, 2)
    field, resid = fit_field(lines, params)
    bend = _bend(lines, field)
    details["bend_px"] = round(bend * to_full, 2)
    if bend < params.flat_fraction * lines.char_height:
        return StageResult(page, False, "dewarp.flat", details)
    map_x, map_y = _remap_maps(field, page.shape[:2], lines.scale)
    rows = np.arange(0, page.shape[0], _GRID_STEP)
    shift = float(np.abs(map_y[rows, ::_GRID_STEP] - rows[:, None]).max())
    details["max_shift_px"] = round(shift, 1)
    if shift > params.max_shift_fraction * page.shape[0]:
        log.info("dewarp: field moves pixels %.0f px; not applied", shift)
        return StageResult(page, False, "dewarp.implausible", details)
    out = cv2.remap(page, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    after = lines.with_y(lines.y - field(lines.x, lines.y))
    details["curvature_after_px"] = round(float(np.mean(line_curvatures(after))) * to_full, 2)
    details["residual_px"] = round(float(np.median(np.abs(resid))) * to_full, 2)
    return StageResult(out, True, "", details)
