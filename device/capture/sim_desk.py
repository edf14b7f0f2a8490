"""Procedural desk surfaces (wood, grey laminate, dark mat) with clutter, for the simulated camera."""

from __future__ import annotations

import logging

import cv2
import numpy as np

log = logging.getLogger(__name__)

DESK_KINDS = ("wood", "grey", "dark")
_WORK_SCALE = 4  # desks are drawn at 1/4 of the sensor size, then upscaled: they are soft anyway


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cell: float | tuple[float, float]) -> np.ndarray:
    """Zero-mean, unit-ish noise whose features are about ``cell`` pixels wide ((y, x) for
    streaks longer in one direction)."""
    h, w = shape
    cy, cx = (cell, cell) if isinstance(cell, (int, float)) else cell
    gh, gw = max(2, int(h / cy) + 2), max(2, int(w / cx) + 2)
    coarse = rng.standard_normal((gh, gw)).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)


def _fractal(rng: np.random.Generator, shape: tuple[int, int], cells: tuple[float, ...]) -> np.ndarray:
    out = np.zeros(shape, np.float32)
    for i, cell in enumerate(cells):
        out += smooth_noise(rng, shape, cell) / (1.6**i)
    return out


def _wood(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Veneer: thin late-wood lines along x, bent by slow warps, over fine streaks and planks."""
    h, w = shape
    y = np.arange(h, dtype=np.float32)[:, None]
    warp = smooth_noise(rng, shape, (120, 600)) * 30 + smooth_noise(rng, shape, (25, 160)) * 3
    period = rng.uniform(9, 16)
    rings = 0.5 + 0.5 * np.sin((y + warp) * (2 * np.pi / period))
    lines = rings**5 * (0.7 + 0.3 * smooth_noise(rng, shape, (8, 120)))
    streaks = smooth_noise(rng, shape, (1.2, 40)) * 0.05 + smooth_noise(rng, shape, (3, 90)) * 0.05
    broad = smooth_noise(rng, shape, 300) * 0.07
    plank = np.zeros(shape, np.float32)
    edge = int(rng.uniform(0.2, 0.8) * h)
    plank[edge:] = rng.uniform(-0.08, 0.08)
    lum = 1 - 0.28 * lines + streaks + broad + plank
    base = np.array(rng.choice([[45, 85, 135], [60, 105, 160], [35, 62, 105]]), np.float32)
    out = base * lum[..., None]
    out[max(0, edge - 1):edge + 1] *= 0.55  # the joint between two planks
    return out


def _grey(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    level = rng.uniform(95, 135)
    mottle = _fractal(rng, shape, (220, 60, 12)) * 6 + smooth_noise(rng, shape, 1.5) * 5
    tint = np.array([1.02, 1.0, 0.97], np.float32) * rng.uniform(0.97, 1.03, 3).astype(np.float32)
    return (level + mottle)[..., None] * tint


def _dark(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    level = rng.uniform(28, 45)
    weave = smooth_noise(rng, shape, 1.2) * 4 + _fractal(rng, shape, (250, 40)) * 4
    tint = np.array(rng.choice([[1.15, 1.0, 0.9], [1.0, 1.0, 1.0], [0.95, 1.05, 1.0]]), np.float32)
    return (level + weave)[..., None] * tint


def _pen(canvas: np.ndarray, rng: np.random.Generator, center: tuple[int, int], scale: float) -> None:
    angle = rng.uniform(0, np.pi)
    half = 70 * scale
    d = np.array([np.cos(angle), np.sin(angle)]) * half
    p0 = (int(center[0] - d[0]), int(center[1] - d[1]))
    p1 = (int(center[0] + d[0]), int(center[1] + d[1]))
    body = tuple(float(c) for c in rng.choice([[160, 60, 20], [30, 30, 35], [40, 40, 170]]))
    shadow = (int(2 * scale), int(3 * scale))
    cv2.line(canvas, (p0[0] + shadow[0], p0[1] + shadow[1]), (p1[0] + shadow[0], p1[1] + shadow[1]),
             (0, 0, 0), max(1, int(4 * scale)), cv2.LINE_AA)
    cv2.line(canvas, p0, p1, body, max(1, int(4 * scale)), cv2.LINE_AA)
    cv2.line(canvas, p1, (int(p1[0] + d[0] * 0.12), int(p1[1] + d[1] * 0.12)),
             (200, 200, 205), max(1, int(2 * scale)), cv2.LINE_AA)


def _sticky_note(canvas: np.ndarray, rng: np.random.Generator, center: tuple[int, int], scale: float) -> None:
    side = 38 * scale
    box = cv2.boxPoints(((center[0], center[1]), (side, side), float(rng.uniform(-30, 30))))
    colour = tuple(float(c) for c in rng.choice([[110, 225, 245], [170, 235, 150], [200, 170, 250]]))
    cv2.fillConvexPoly(canvas, (box + 3 * scale).astype(np.int32), (0, 0, 0), cv2.LINE_AA)
    cv2.fillConvexPoly(canvas, box.astype(np.int32), colour, cv2.LINE_AA)


def _mug(canvas: np.ndarray, rng: np.random.Generator, center: tuple[int, int], scale: float) -> None:
    r = int(42 * scale)
    cv2.circle(canvas, (center[0] + int(4 * scale), center[1] + int(6 * scale)), r, (10, 10, 10), -1, cv2.LINE_AA)
    cv2.circle(canvas, center, r, tuple(float(c) for c in rng.choice([[235, 235, 235], [60, 60, 150]])), -1, cv2.LINE_AA)
    cv2.circle(canvas, center, int(r * 0.82), (25, 45, 70), -1, cv2.LINE_AA)


def _place_clutter(canvas: np.ndarray, rng: np.random.Generator, keep_clear: np.ndarray) -> None:
    """Put a few objects on the desk outside ``keep_clear`` (the page's usual spot)."""
    h, w = canvas.shape[:2]
    scale = w / 760  # object sizes were tuned on a 760-pixel-wide work canvas
    for draw in rng.permutation(np.array([_pen, _sticky_note, _mug, _pen], dtype=object))[: rng.integers(1, 4)]:
        for _attempt in range(30):
            cx, cy = int(rng.uniform(0, w)), int(rng.uniform(0, h))
            margin = int(60 * scale)
            if not keep_clear[max(0, cy - margin):cy + margin, max(0, cx - margin):cx + margin].any():
                draw(canvas, rng, (cx, cy), scale)
                break


def make_desk(rng: np.random.Generator, kind: str, frame_size: tuple[int, int],
              page_quad: np.ndarray) -> np.ndarray:
    """A BGR uint8 desk of ``frame_size`` (w, h); clutter avoids ``page_quad`` (4x2 pixels)."""
    if kind not in DESK_KINDS:
        raise ValueError(f"unknown desk kind {kind!r}; choose one of {', '.join(DESK_KINDS)}")
    w, h = frame_size
    shape = (h // _WORK_SCALE, w // _WORK_SCALE)
    desk = {"wood": _wood, "grey": _grey, "dark": _dark}[kind](rng, shape)
    canvas = np.clip(desk, 0, 255).astype(np.uint8)
    keep_clear = np.zeros(shape, np.uint8)
    center = page_quad.mean(axis=0)
    grown = (page_quad - center) * 1.15 + center  # room for the operator's pose jitter
    cv2.fillConvexPoly(keep_clear, (grown / _WORK_SCALE).astype(np.int32), 1)
    _place_clutter(canvas, rng, keep_clear)
    canvas = cv2.GaussianBlur(canvas, (0, 0), 0.7)
    return cv2.resize(canvas, (w, h), interpolation=cv2.INTER_CUBIC)
