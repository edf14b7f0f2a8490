"""The simulated camera over an open bound register: two facing pages, a gutter, known corners.

`SpreadCamera` is a `SimulatedCamera` (same desk, light, noise, defects and determinism per
seed) whose shots show a book lying open: a cloth cover, the left (verso) page with its spine
on the right and the right (recto) page with its spine on the left, both rising out of the
gutter (`sim_geometry.curl_profile`). Near the spine the paper turns away from the light and the
facing page hides part of the sky, so the gutter is shaded. The plan's pose is the open
book's (the cover's) pose, so skew, cutoff, a hand holding the book open and the contact
shadow act on the whole book. Each shot turns two pages.

Ground truth: `ShotTruth.corners` is the outer quad of the two pages (left page's TL and BL,
right page's TR and BR), `text` both pages' text in reading order, `effective_dpi` the left
page's, and `defects["spread"]` holds `pages` (each page's TL, TR, BR, BL in image pixels),
`gutter` (its top and bottom points: where the two pages meet), `sources` and `hump_mm`
(left and right pages).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np

from device.capture.camera import ShotTruth
from device.capture.sim_geometry import A4_MM, Pose, Rig, curl_profile, effective_dpi, page_corners, remap_grids
from device.capture.sim_plan import ShotPlan, plan_pose
from device.capture.simulated import SimulatedCamera

log = logging.getLogger(__name__)

COVER_BGR = ((38, 40, 110), (46, 70, 40), (60, 42, 30), (30, 50, 80), (70, 60, 55))  # cloth: red, green, blue, brown, grey
_SPREAD_STREAM = 211  # the spread's own random stream, apart from the shot's and the defects'


@dataclass(frozen=True)
class Spread:
    """How one open book lies: its hump, the gap at the gutter, the cover and its colour."""

    hump_mm: tuple[float, float]  # height of the left and right pages' humps beside the gutter
    gap_mm: float  # paper hidden in the gutter between the two pages' spine edges
    margin_mm: float  # cover board showing around the page block
    block_mm: float  # height of the page block's edge above the cover
    cover_bgr: tuple[int, int, int]


def plan_spread(seed: int, index: int, curl: float) -> Spread:
    """The book of shot `index`, drawn from its own stream (deterministic per seed and shot)."""
    rng = np.random.default_rng([seed, index, _SPREAD_STREAM])
    hump = curl * float(rng.uniform(12, 20))
    # The two stacks are rarely equal (a register open near its start or its end), so the
    # pages rise differently and the gutter is not in the middle of the book's outline.
    return Spread(
        hump_mm=(hump * float(rng.uniform(0.6, 1.4)), hump * float(rng.uniform(0.6, 1.4))),
        gap_mm=float(rng.uniform(0.0, 3.0)),
        margin_mm=float(rng.uniform(6, 10)),
        block_mm=float(rng.uniform(4, 12)),
        cover_bgr=COVER_BGR[int(rng.integers(0, len(COVER_BGR)))],
    )


def _rotate(pose: Pose, dx: float, dy: float) -> tuple[float, float]:
    c, s = np.cos(np.radians(pose.rotation_deg)), np.sin(np.radians(pose.rotation_deg))
    return pose.center_mm[0] + c * dx - s * dy, pose.center_mm[1] + s * dx + c * dy


def _flat_width(hump_mm: float) -> float:
    """How wide a curled page lies on the desk (its arc is the paper's width)."""
    _s, x, _z = curl_profile(Pose((0.0, 0.0), 0.0, (hump_mm, 0.0), "left"))
    return float(x[-1])


def book_pose(page_pose: Pose, spread: Spread) -> Pose:
    """The open book as one flat 'page' (the cover) where the operator laid the page."""
    width = sum(_flat_width(h) for h in spread.hump_mm) + spread.gap_mm + 2 * spread.margin_mm
    height = A4_MM[1] + 2 * spread.margin_mm
    return Pose(page_pose.center_mm, page_pose.rotation_deg, page_mm=(width, height))


def page_poses(book: Pose, spread: Spread) -> tuple[Pose, Pose]:
    """The left (spine on its right) and right (spine on its left) pages of the open book,
    their spine edges meeting at the gutter (where the cover folds)."""
    w = A4_MM[0]
    flat_left = _flat_width(spread.hump_mm[0])
    gutter = -book.page_mm[0] / 2 + spread.margin_mm + flat_left + spread.gap_mm / 2
    # A page's local x runs from -w/2 at s = 0; the left page's spine edge (s = w) lies at
    # flat - w/2, the right page's (s = 0) at -w/2.
    left = Pose(_rotate(book, gutter - spread.gap_mm / 2 - (flat_left - w / 2), 0.0), book.rotation_deg,
                (spread.hump_mm[0], 0.0), "right")
    right = Pose(_rotate(book, gutter + spread.gap_mm / 2 + w / 2, 0.0), book.rotation_deg,
                 (spread.hump_mm[1], 0.0), "left")
    return left, right


def _world_to_image(rig: Rig, points: np.ndarray) -> np.ndarray:
    """Image pixels of world points (x, y, height) in mm, as `sim_geometry.project` does."""
    cam = np.stack([points[:, 0], points[:, 1], rig.height_mm - points[:, 2]], axis=-1) @ rig.rotation().T
    cx, cy = (rig.frame_size[0] - 1) / 2, (rig.frame_size[1] - 1) / 2
    return np.stack([cx + rig.focal_px * cam[:, 0] / cam[:, 2], cy + rig.focal_px * cam[:, 1] / cam[:, 2]], axis=-1)


def cover_corners(rig: Rig, book: Pose, spread: Spread) -> np.ndarray:
    """The cover's corners in sensor pixels, drawn at the page block's height so the raised
    fore-edges of the pages stay over it."""
    w, h = book.page_mm
    local = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    world = np.array([[*_rotate(book, x, y), spread.block_mm] for x, y in local])
    return _world_to_image(rig, world)


def gutter_shade(pose: Pose, width_px: int) -> np.ndarray:
    """Per source column (arc length across the page), how much light the paper gets: less
    where it turns away from an overhead light, and less still deep in the gutter, where the
    facing page hides part of the room."""
    s, x, z = curl_profile(pose)
    slope = np.gradient(z, x)
    facing = 1.0 / np.sqrt(1.0 + slope**2)
    from_spine = s if pose.spine == "left" else pose.page_mm[0] - s
    occluded = 1.0 - 0.45 * np.exp(-from_spine / 7.0)
    shade = (0.35 + 0.65 * facing) * occluded
    columns = (np.arange(width_px) + 0.5) / width_px * pose.page_mm[0]
    return np.interp(columns, s, shade).astype(np.float32)


class SpreadCamera(SimulatedCamera):
    """A simulated overhead camera over an open register (landscape sensor, each shot two pages).

    ``curl`` scales the pages' hump beside the gutter (1.0: 12-20 mm). Other arguments are
    those of `SimulatedCamera`; the sensor is always landscape, at 1.3 x the nominal height
    unless ``distance`` says otherwise (about 200 dpi on the pages).
    """

    def __init__(self, seed: int = 0, texts: Any = None, defects: Any = (), defect_rate: float = 0.0,
                 distance: float | None = None, desk: str | None = None, curl: float = 1.0,
                 resolution: tuple[int, int] | None = None, tilt_deg: float = 1.5) -> None:
        super().__init__(seed, texts, defects, defect_rate, distance, "landscape", desk, curl, True,
                         resolution, tilt_deg)

    def spread(self, plan: ShotPlan) -> Spread:
        return plan_spread(self.seed, plan.index, self._curl)

    def _plan_pose(self, rng: np.random.Generator, index: int, page_number: int) -> Pose:
        page = plan_pose(rng, self._curl, True, page_number)
        return book_pose(page, plan_spread(self.seed, index, self._curl))

    def _facing(self, key: tuple[int, int] | None) -> tuple[int, int] | None:
        """The page after `key` (the right-hand page of a spread whose left page is `key`)."""
        if key is None:
            return None
        text, page = key
        if page + 1 < len(self._pages(text)):
            return (text, page + 1)
        return ((text + 1) % len(self._sources), 0)

    def _lay_paper(self, plan: ShotPlan, out_size: tuple[int, int], desk: np.ndarray,
                   px_per_mm_out: float) -> np.ndarray:
        spread = self.spread(plan)
        scale = self.rig.frame_size[0] / out_size[0]
        frame = desk.copy()
        cover = (cover_corners(self.rig, plan.pose, spread) + 0.5) / scale - 0.5
        cv2.fillConvexPoly(frame, np.round(cover * 16).astype(np.int32), spread.cover_bgr, cv2.LINE_AA, shift=4)
        for key, pose in zip((plan.page_key, self._facing(plan.page_key)), page_poses(plan.pose, spread)):
            source = self._page_source(key, px_per_mm_out)
            shade = gutter_shade(pose, source.shape[1])
            shaded = (source.astype(np.float32) * shade[None, :, None]).astype(np.uint8)
            map_x, map_y = remap_grids(self.rig, pose, out_size, source.shape[1] / A4_MM[0])
            cv2.remap(shaded, map_x, map_y, cv2.INTER_LINEAR, dst=frame, borderMode=cv2.BORDER_TRANSPARENT)
        return frame

    def _after_shot(self, plan: ShotPlan) -> None:
        if plan.page_key is not None and "duplicate" not in plan.defects:
            self._advance()  # the left page; the base class turns past the right one
        super()._after_shot(plan)

    def _truth(self, plan: ShotPlan, extra: dict[str, Any]) -> ShotTruth:
        base = super()._truth(plan, extra)
        spread = self.spread(plan)
        keys = (plan.page_key, self._facing(plan.page_key))
        left, right = (page_corners(self.rig, pose) for pose in page_poses(plan.pose, spread))
        corners = np.array([left[0], right[1], right[2], left[3]])
        w, h = self.rig.frame_size
        inside = bool(((corners >= 0) & (corners <= np.array([w - 1, h - 1]))).all())
        names = [("blank" if k is None else f"{self._sources[k[0]][0]}#p{k[1] + 1}") for k in keys]
        defects = dict(base.defects)
        defects["spread"] = {
            "pages": [_points(left), _points(right)],
            "gutter": _points(np.array([(left[1] + right[0]) / 2, (left[2] + right[3]) / 2])),
            "sources": names,
            "hump_mm": [round(h, 2) for h in spread.hump_mm],
        }
        text = "\n".join(self._page(k).text for k in keys if k is not None)
        return replace(base, text=text, corners=tuple(_points(corners)), defects=defects,  # type: ignore[arg-type]
                       effective_dpi=round(effective_dpi(left, A4_MM), 2), source="+".join(names),
                       page_in_frame=inside)


def _points(array: np.ndarray) -> list[tuple[float, float]]:
    return [(round(float(x), 2), round(float(y), 2)) for x, y in array]
