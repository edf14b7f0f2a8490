"""A shaded, skin-toned hand (palm, fingers, thumb, forearm) for the simulator's `hand` defect."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

log = logging.getLogger(__name__)

SKIN_TONES_BGR = {"light": (150, 178, 228), "medium": (112, 145, 200), "tan": (82, 118, 172),
                  "dark": (58, 82, 125)}
_CANVAS_MM = (-120.0, -150.0, 120.0, 420.0)  # x0, y0, x1, y1 around the palm centre
# Fingers: base x, base y, length, width, angle from "up" (degrees), all in mm.
_FINGERS = ((-30, -36, 66, 17.5, -6), (-10, -42, 75, 18.5, -1), (10, -40, 70, 17.5, 4),
            (29, -32, 56, 15.5, 9))
_THUMB = (-36, 8, 60, 22, -42)


@dataclass(frozen=True)
class HandSprite:
    """A hand drawn fingers-up: colour, alpha in [0, 1], and where its fingertips are (pixels)."""

    bgr: np.ndarray  # uint8 (h, w, 3)
    alpha: np.ndarray  # float32 (h, w)
    tips: np.ndarray  # (5, 2) fingertip pixels, middle finger first
    px_per_mm: float


def _finger(shape: tuple[int, int], p0: np.ndarray, p1: np.ndarray, width: float) -> np.ndarray:
    """A finger seen from above: a capsule that narrows a little towards the tip."""
    mask = np.zeros(shape, np.uint8)
    axis = (p1 - p0) / max(1e-6, float(np.linalg.norm(p1 - p0)))
    normal = np.array([-axis[1], axis[0]])
    r0, r1 = width / 2, width * 0.42
    quad = np.array([p0 + normal * r0, p1 + normal * r1, p1 - normal * r1, p0 - normal * r0])
    cv2.fillConvexPoly(mask, (quad * 16).astype(np.int32), 255, cv2.LINE_AA, shift=4)
    for centre, r in ((p0, r0), (p1, r1)):
        cv2.circle(mask, (int(centre[0] * 16), int(centre[1] * 16)), int(r * 16), 255, -1, cv2.LINE_AA, shift=4)
    return mask


def _parts(rng: np.random.Generator, ppm: float, shape: tuple[int, int]) -> tuple[list[np.ndarray], np.ndarray, list[tuple[np.ndarray, np.ndarray, float]]]:
    """Masks of the hand parts (each shaded on its own), fingertips, and finger axes."""
    ox, oy = -_CANVAS_MM[0] * ppm, -_CANVAS_MM[1] * ppm
    to_px = lambda x, y: np.array([ox + x * ppm, oy + y * ppm])  # noqa: E731
    palm = np.zeros(shape, np.uint8)
    cv2.ellipse(palm, tuple(int(v) for v in to_px(0, 0)), (int(43 * ppm), int(50 * ppm)), 0, 0, 360, 255, -1, cv2.LINE_AA)
    arm = np.zeros(shape, np.uint8)
    wrist = [to_px(-36, 30), to_px(36, 30), to_px(44, 420), to_px(-44, 420)]
    cv2.fillConvexPoly(arm, np.array(wrist, np.int32), 255, cv2.LINE_AA)
    parts, tips, axes = [palm | arm], [], []
    for bx, by, length, width, angle in (*_FINGERS, _THUMB):
        a = np.radians(angle + rng.uniform(-4, 4))
        bent = length * rng.uniform(0.85, 1.0)  # a relaxed finger looks shorter from above
        tip = (bx + np.sin(a) * bent, by - np.cos(a) * bent)
        p0, p1 = to_px(bx, by), to_px(*tip)
        parts.append(_finger(shape, p0, p1, width * ppm))
        tips.append(p1 + (p1 - p0) / np.linalg.norm(p1 - p0) * width * 0.42 * ppm)
        axes.append((p0, p1, width * ppm))
    order = [1, 0, 2, 3, 4]  # middle finger first: it leads the placement
    return parts, np.array(tips)[order], axes


def _creases(shade: np.ndarray, axes: list[tuple[np.ndarray, np.ndarray, float]], ppm: float) -> None:
    """Knuckle creases: faint dark arcs across each finger's joints."""
    for p0, p1, width in axes[:4]:
        axis = p1 - p0
        normal = np.array([-axis[1], axis[0]]) / np.linalg.norm(axis)
        for along in (0.38, 0.68):
            c = p0 + axis * along
            a, b = c + normal * width * 0.3, c - normal * width * 0.3
            cv2.line(shade, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), 0.0, max(1, int(0.6 * ppm)), cv2.LINE_AA)


def draw_hand(rng: np.random.Generator, px_per_mm: float, tone: str, mirror: bool) -> HandSprite:
    """Draw a hand at ``px_per_mm``; each part is shaded by its distance to its own outline, so
    fingers read as rounded and separate, with a soft key light from the upper left."""
    w = int((_CANVAS_MM[2] - _CANVAS_MM[0]) * px_per_mm)
    h = int((_CANVAS_MM[3] - _CANVAS_MM[1]) * px_per_mm)
    parts, tips, axes = _parts(rng, px_per_mm, (h, w))
    height = np.zeros((h, w), np.float32)
    alpha = np.zeros((h, w), np.float32)
    for mask in parts:
        dist = cv2.distanceTransform((mask > 127).astype(np.uint8), cv2.DIST_L2, 3)
        radius = max(1.0, float(dist.max()))
        height = np.maximum(height, np.sqrt(np.clip(dist / min(radius, 11 * px_per_mm), 0, 1)))
        alpha = np.maximum(alpha, mask.astype(np.float32) / 255)
    gy, gx = np.gradient(cv2.GaussianBlur(height, (0, 0), 2 * px_per_mm))
    shade = 0.62 + 0.33 * height + 4.0 * px_per_mm * (-gx - gy) * 0.5
    crease = np.ones((h, w), np.float32)
    _creases(crease, axes, px_per_mm)
    shade *= 0.88 + 0.12 * cv2.GaussianBlur(crease, (0, 0), 0.5 * px_per_mm)
    base = np.array(SKIN_TONES_BGR[tone], np.float32) * rng.uniform(0.94, 1.06, 3).astype(np.float32)
    mottle = 1 + 0.025 * cv2.resize(rng.standard_normal((h // 24 + 2, w // 24 + 2)).astype(np.float32), (w, h))
    bgr = np.clip(base * (shade * mottle)[..., None], 0, 255).astype(np.uint8)
    _nails(bgr, tips, px_per_mm, base)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 0.6 * px_per_mm)
    if mirror:  # a left hand instead of a right one
        bgr, alpha = bgr[:, ::-1].copy(), alpha[:, ::-1].copy()
        tips = tips.copy()
        tips[:, 0] = w - 1 - tips[:, 0]
    return HandSprite(bgr, alpha, tips, px_per_mm)


def _nails(bgr: np.ndarray, tips: np.ndarray, ppm: float, base: np.ndarray) -> None:
    """Paler, pinker nails just behind each fingertip (the thumb's is seen side-on)."""
    nail = np.clip(base * np.array([1.05, 1.03, 1.0]) + np.array([14, 10, 14]), 0, 255)
    layer = bgr.copy()
    for tip in tips[:4]:
        centre = (int(tip[0]), int(tip[1] + 6 * ppm))
        cv2.ellipse(layer, centre, (max(1, int(4.2 * ppm)), max(1, int(5.0 * ppm))), 0, 0, 360,
                    tuple(float(c) for c in nail), -1, cv2.LINE_AA)
    cv2.addWeighted(layer, 0.55, bgr, 0.45, 0, dst=bgr)


def place_transform(sprite: HandSprite, target: tuple[float, float], direction_deg: float,
                    scale: float) -> np.ndarray:
    """2x3 affine taking sprite pixels to output pixels: the middle fingertip lands on
    ``target`` (output pixels) and the fingers point along ``direction_deg`` (image angle)."""
    # Sprite fingers point "up" (-y, image angle -90); rotate that onto the wanted direction.
    theta = np.radians(direction_deg + 90)
    c, s = np.cos(theta) * scale, np.sin(theta) * scale
    rot = np.array([[c, -s], [s, c]])
    offset = np.asarray(target) - rot @ sprite.tips[0]
    return np.hstack([rot, offset[:, None]]).astype(np.float64)


def composite_hand(frame: np.ndarray, sprite: HandSprite, affine: np.ndarray) -> tuple[int, int, int, int] | None:
    """Blend the hand over ``frame`` in place; return its bounding box (output pixels) or None."""
    h, w = sprite.alpha.shape
    corners = np.array([[0, 0, 1], [w, 0, 1], [w, h, 1], [0, h, 1]], float) @ affine.T
    fh, fw = frame.shape[:2]
    x0, y0 = np.floor(corners.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(fw, x1), min(fh, y1)
    if x1 <= x0 or y1 <= y0:
        return None
    local = affine.copy()
    local[:, 2] -= (x0, y0)
    size = (x1 - x0, y1 - y0)
    alpha = cv2.warpAffine(sprite.alpha, local, size, flags=cv2.INTER_LINEAR, borderValue=0)
    colour = cv2.warpAffine(sprite.bgr, local, size, flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    roi = frame[y0:y1, x0:x1]
    roi[:] = cv2.blendLinear(colour, roi, alpha, 1.0 - alpha)
    ys, xs = np.nonzero(alpha > 0.5)
    if xs.size == 0:
        return None
    return int(x0 + xs.min()), int(y0 + ys.min()), int(x0 + xs.max() + 1), int(y0 + ys.max() + 1)


def coverage(sprite: HandSprite, affine: np.ndarray, grid_size: tuple[int, int], grid_step: float,
             offset_px: tuple[float, float] = (0.0, 0.0), soften: float = 0.0) -> np.ndarray:
    """How much of each coarse light-grid cell the hand covers (0..1), optionally displaced
    (its shadow) and softened (in cells)."""
    coarse = affine.copy() / grid_step
    # Coarse cell i stands for pixel (i + 0.5) * step - 0.5.
    coarse[:, 2] = (affine[:, 2] + np.asarray(offset_px) + 0.5) / grid_step - 0.5
    cover = cv2.warpAffine(sprite.alpha, coarse, grid_size, flags=cv2.INTER_LINEAR, borderValue=0)
    if soften > 0:
        cover = cv2.GaussianBlur(cover, (0, 0), soften)
    return np.clip(cover, 0, 1)
