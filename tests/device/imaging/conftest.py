"""A small synthetic shot generator for the page and QC tests: a text page warped onto a desk, known corners.

Stands in until the simulated camera (device/capture/simulated.py) exists; deliberately
independent of it so the detector is not tuned to one renderer.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest

DEFECTS = ("blur", "glare", "cutoff", "skew", "blank")


@dataclass(frozen=True, eq=False)
class Shot:
    image: np.ndarray  # BGR uint8
    corners: np.ndarray  # (4, 2) TL, TR, BR, BL of the page in image pixels
    defect: str | None


# The real phone photos of ../shared/data/photos/ (CC0), by file stem.
REAL_PHOTOS = [
    "a4-on-white-background",
    "holding-with-a-hand",
    "inner-lines-dark-background",
    "inner-lines",
    "inner-table",
    "low-contrast",
    "with-graphics",
]


def _page(rng: np.random.Generator, width: int, height: int, text: bool, content_seed: int) -> np.ndarray:
    """A white page with lines of dark 'words' (rectangles of letter-like strokes)."""
    paper = int(rng.integers(225, 246))
    page = np.full((height, width), paper, np.uint8)
    if not text:
        return page
    crng = np.random.default_rng(content_seed)
    margin = width // 10
    line_h = max(8, height // 45)
    y = margin
    while y < height - margin:
        x = margin + (int(crng.integers(0, 4)) * line_h if crng.random() < 0.2 else 0)
        end = width - margin - int(crng.integers(0, width // 3) if crng.random() < 0.15 else 0)
        while x < end:
            wlen = int(crng.integers(line_h, 5 * line_h))
            for cx in range(x, min(x + wlen, end), max(3, line_h // 2)):
                h = int(line_h * crng.uniform(0.45, 0.8))
                cv2.rectangle(page, (cx, y + line_h - h), (cx + max(2, line_h // 6), y + line_h), 30, -1)
            x += wlen + line_h // 2
        y += int(line_h * (1.8 if crng.random() > 0.1 else 3.5))
    return page


def _desk(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A textured desk: a base colour, wood-like streaks, shading and a little clutter."""
    base = rng.integers(40, 200, 3)
    desk = np.empty((height, width, 3), np.float32)
    desk[:] = base
    streaks = cv2.resize(rng.normal(0, 12, (1, width // 8)).astype(np.float32), (width, height))
    desk += streaks[..., None]
    blotch = cv2.resize(
        rng.normal(0, 10, (6, 8)).astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC
    )
    desk += blotch[..., None]
    for _ in range(int(rng.integers(0, 3))):  # pens, sticky notes near the edge
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(desk, (x, y), (x + int(rng.integers(10, 80)), y + int(rng.integers(5, 30))), colour, -1)
    return np.clip(desk, 0, 255).astype(np.uint8)


def _place(rng: np.random.Generator, width: int, height: int, defect: str | None) -> np.ndarray:
    """Page corners: A4 portrait, 60-80% of the frame height, slight rotation and perspective."""
    ph = height * rng.uniform(0.6, 0.8)
    pw = ph / 1.414
    angle = np.radians(
        rng.uniform(8, 20) * rng.choice([-1, 1]) if defect == "skew" else rng.uniform(-2.5, 2.5)
    )
    rect = np.array([[-pw / 2, -ph / 2], [pw / 2, -ph / 2], [pw / 2, ph / 2], [-pw / 2, ph / 2]])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = rect @ rot.T + rng.normal(0, ph * 0.006, (4, 2))
    lo, hi = corners.min(0), corners.max(0)
    fit = min(1.0, 0.9 * width / (hi[0] - lo[0]), 0.9 * height / (hi[1] - lo[1]))
    corners, lo, hi = corners * fit, lo * fit, hi * fit  # a turned page must still fit
    margin = 0.04 * np.array([width, height])
    centre = np.array(
        [
            rng.uniform(margin[0] - lo[0], width - margin[0] - hi[0]),
            rng.uniform(margin[1] - lo[1], height - margin[1] - hi[1]),
        ]
    )
    if defect == "cutoff":  # push 8-20% of the page off one frame edge
        side = int(rng.integers(0, 4))
        axis, sign = side % 2, (-1 if side < 2 else 1)
        extent = hi[axis] - lo[axis]
        edge = 0 if sign < 0 else (width, height)[axis]
        centre[axis] = edge - (lo[axis] if sign < 0 else hi[axis]) + sign * rng.uniform(0.08, 0.2) * extent
    return (corners + centre).astype(np.float32)


def render_shot(
    seed: int,
    defect: str | None = None,
    size: tuple[int, int] = (1600, 1200),
    content_seed: int | None = None,
) -> Shot:
    """One synthetic shot; `content_seed` fixes the page text (two shots of the same page)."""
    rng = np.random.default_rng(seed)
    width, height = size
    corners = _place(rng, width, height, defect)
    pw, ph = 1400, 1980  # twice the size it is seen at, so warping keeps edges crisp
    page = _page(
        rng, pw, ph, text=defect != "blank", content_seed=seed if content_seed is None else content_seed
    )
    src = np.array([[0, 0], [pw - 1, 0], [pw - 1, ph - 1], [0, ph - 1]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, corners)
    image = _desk(rng, width, height)
    warped = cv2.warpPerspective(
        cv2.cvtColor(page, cv2.COLOR_GRAY2BGR), matrix, (width, height), flags=cv2.INTER_AREA
    )
    mask = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), matrix, (width, height))
    image = np.where(mask[..., None] > 127, warped, image)
    # Uneven light and a soft shadow across part of the frame.
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 1.0 - 0.15 * rng.random() * (xx / width) - 0.1 * rng.random() * (yy / height)
    image = np.clip(image * light[..., None], 0, 255)
    if defect == "glare":
        page_centre = corners.mean(0) + rng.uniform(-0.2, 0.2, 2) * (corners.max(0) - corners.min(0))
        radius = (corners.max(0) - corners.min(0)).min() * rng.uniform(0.06, 0.12)
        blob = np.exp(-(((xx - page_centre[0]) ** 2 + (yy - page_centre[1]) ** 2) / (2 * radius**2)))
        image = image + 255 * 1.6 * blob[..., None]
    image = np.clip(image + rng.normal(0, 2.0, image.shape), 0, 255).astype(np.uint8)
    if defect == "blur":
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(2.5, 4.0))
    return Shot(image, corners, defect)


@pytest.fixture(scope="session")
def make_shot():
    """The generator, as a fixture: make_shot(seed, defect=None, size=(w, h), content_seed=None)."""
    return render_shot
