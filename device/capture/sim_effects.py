"""Optical and sensor effects of the simulated camera: light, shadow, glare, blur, noise, JPEG."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

log = logging.getLogger(__name__)

UNITY = 128.0  # the illumination field is stored as uint8 with 128 meaning "no change"
FIELD_STEP = 16  # the light field is smooth: compute it on a coarse grid


@dataclass(frozen=True)
class Lighting:
    """Smooth, uneven light over the frame; all positions in sensor pixels."""

    gain: float  # overall exposure (1.0: paper white lands near 235)
    gradient: tuple[float, float]  # relative change per frame width along x and y
    vignette: float  # relative fall-off at the frame corners
    shadow_line: tuple[float, float, float] | None = None  # a*x + b*y + c = 0 (a, b unit)
    shadow_depth: float = 0.0
    shadow_softness: float = 300.0


def lighting_field(light: Lighting, frame_size: tuple[int, int], out_size: tuple[int, int],
                   extra_shade: np.ndarray | None = None) -> np.ndarray:
    """The light field as 3-channel uint8 of ``out_size`` (UNITY = 1.0), ready for cv2.multiply.

    ``extra_shade`` is an optional coarse multiplicative map (e.g. a hand's shadow) on the same
    coarse grid as returned by ``coarse_grid``.
    """
    u, v = coarse_grid(frame_size, out_size)
    fw, fh = frame_size
    nx, ny = (u - fw / 2) / fw, (v - fh / 2) / fh
    field = light.gain * (1 + light.gradient[0] * nx + light.gradient[1] * ny)
    field *= 1 - light.vignette * (nx**2 + ny**2) / 0.5
    if light.shadow_line is not None:
        a, b, c = light.shadow_line
        dist = (a * u + b * v + c) / light.shadow_softness
        field *= 1 - light.shadow_depth / (1 + np.exp(-dist))
    if extra_shade is not None:
        field *= extra_shade
    coarse = np.clip(field * UNITY, 0, 255).astype(np.uint8)
    coarse3 = np.repeat(coarse[..., None], 3, axis=2)  # 3 channels before upscaling: cheaper
    size = (-(-out_size[0] // FIELD_STEP) * FIELD_STEP, -(-out_size[1] // FIELD_STEP) * FIELD_STEP)
    up = cv2.resize(coarse3, size, interpolation=cv2.INTER_LINEAR)
    return up if size == out_size else np.ascontiguousarray(up[: out_size[1], : out_size[0]])


def coarse_grid(frame_size: tuple[int, int], out_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Sensor-pixel coordinates of the coarse light grid used for an output of ``out_size``."""
    scale = frame_size[0] / out_size[0]
    gw, gh = -(-out_size[0] // FIELD_STEP), -(-out_size[1] // FIELD_STEP)
    gu = (np.arange(gw) + 0.5) * FIELD_STEP * scale - 0.5
    gv = (np.arange(gh) + 0.5) * FIELD_STEP * scale - 0.5
    return tuple(np.meshgrid(gu.astype(np.float32), gv.astype(np.float32)))  # type: ignore[return-value]


def apply_light(frame: np.ndarray, field: np.ndarray) -> np.ndarray:
    return cv2.multiply(frame, field, dst=frame, scale=1 / UNITY)


def add_glare(frame: np.ndarray, center: tuple[float, float], radius: float, peak: float,
              scale: float) -> None:
    """Add a specular hot spot in place: a bright core that clips to white, then a soft halo.

    ``center`` and ``radius`` are in sensor pixels; ``scale`` is sensor pixels per output pixel.
    """
    h, w = frame.shape[:2]
    cx, cy, r = center[0] / scale, center[1] / scale, radius / scale
    reach = 3.0 * r
    x0, x1 = int(max(0, cx - reach)), int(min(w, cx + reach))
    y0, y1 = int(max(0, cy - reach)), int(min(h, cy + reach))
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.ogrid[y0:y1, x0:x1]
    d2 = ((xx - cx) ** 2 + (yy - cy) ** 2).astype(np.float32) / np.float32(r * r)
    # A tight lobe (the lamp's reflection) on a wide halo (the sheen of the paper).
    spot = peak * (np.exp(-d2 * 1.5) + 0.25 * np.exp(-d2 * 0.25))
    spot8 = np.clip(spot, 0, 255).astype(np.uint8)
    roi = frame[y0:y1, x0:x1]
    cv2.add(roi, cv2.merge([spot8, spot8, spot8]), dst=roi)


def blur(frame: np.ndarray, kind: str, size: float, angle_deg: float = 0.0) -> np.ndarray:
    """Focus blur (disc of radius ``size``) or motion blur (streak of length ``size``), in pixels.

    Done on a downscaled copy where the blur is strong: the detail lost by downscaling is
    lost to the blur anyway, and a 12 MP frame with a large kernel would cost seconds.
    """
    if kind == "focus":
        factor = int(np.clip(size // 3, 1, 4))
        return _at_scale(frame, factor, lambda img: cv2.GaussianBlur(img, (0, 0), max(0.5, size / 2 / factor)))
    if kind == "motion":
        factor = int(np.clip(round(size / 12), 1, 3))
        return _at_scale(frame, factor, lambda img: _streak(img, size / factor, angle_deg))
    raise ValueError(f"unknown blur kind {kind!r}: use 'focus' or 'motion'")


def _at_scale(frame: np.ndarray, factor: int, op: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    if factor == 1:
        return op(frame)
    h, w = frame.shape[:2]
    small = cv2.resize(frame, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
    return cv2.resize(op(small), (w, h), interpolation=cv2.INTER_LINEAR)


def _streak(img: np.ndarray, length: float, angle_deg: float) -> np.ndarray:
    """Average of copies shifted along the motion, one pixel apart (a box kernel on a line)."""
    n = int(np.ceil(length)) + 1
    dx, dy = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    acc = np.zeros(img.shape, np.float32)
    h, w = img.shape[:2]
    for i in range(n):
        t = (i / (n - 1) - 0.5) * length
        shift = np.array([[1, 0, t * dx], [0, 1, t * dy]], np.float32)
        moved = cv2.warpAffine(img, shift, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        cv2.accumulate(moved, acc)
    return cv2.convertScaleAbs(acc, alpha=1.0 / n)


def make_noise(rng: np.random.Generator, frame_size: tuple[int, int], sigma: float,
               pad: int = 64) -> np.ndarray:
    """A padded int8 Gaussian noise plate; each shot reads it at a random offset (cheap)."""
    w, h = frame_size
    plate = rng.standard_normal((h + pad, w + pad, 3), dtype=np.float32) * np.float32(sigma)
    return np.clip(plate, -127, 127).astype(np.int8)


def add_noise(frame: np.ndarray, plate: np.ndarray, offset: tuple[int, int]) -> np.ndarray:
    h, w = frame.shape[:2]
    view = plate[offset[1]: offset[1] + h, offset[0]: offset[0] + w]
    return cv2.add(frame, view, dst=frame, dtype=cv2.CV_8U)


def jpeg_round_trip(frame: np.ndarray, quality: int) -> tuple[np.ndarray, int]:
    """Encode and decode like a camera saving JPEG; returns the image and the encoded size."""
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV could not encode the simulated frame as JPEG")
    return cv2.imdecode(buf, cv2.IMREAD_COLOR), int(buf.size)
