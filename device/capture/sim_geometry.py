"""Geometry of the simulated shot: overhead pinhole camera, page pose and curl, and remap grids."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

log = logging.getLogger(__name__)

A4_MM = (210.0, 297.0)
MM_PER_INCH = 25.4
_PROFILE_SAMPLES = 512
_INVERSE_ITERATIONS = 5


@dataclass(frozen=True)
class Rig:
    """The camera over the desk: sensor size, focal length in pixels, height and tilt."""

    frame_size: tuple[int, int]  # (width, height) in pixels
    focal_px: float
    height_mm: float
    tilt_deg: tuple[float, float] = (0.0, 0.0)  # about the image x and y axes

    def rotation(self) -> np.ndarray:
        ax, ay = np.radians(self.tilt_deg)
        rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
        ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
        return rx @ ry

    def nominal_dpi(self) -> float:
        """Sensor pixels per inch of a flat page right under the lens."""
        return self.focal_px / self.height_mm * MM_PER_INCH


@dataclass(frozen=True)
class Pose:
    """Where the page lies on the desk and how it bends.

    ``center_mm`` is the flat page centre relative to the point under the lens (x right,
    y down in the image). ``curl_mm`` lifts the left and right edges (a loose sheet); with
    ``spine`` set to "left" or "right", that side dips into a book's gutter and the page
    rises steeply beside it (``curl_mm`` is then the height of the hump).
    """

    center_mm: tuple[float, float]
    rotation_deg: float
    curl_mm: tuple[float, float] = (0.0, 0.0)
    spine: str | None = None
    page_mm: tuple[float, float] = A4_MM


def curl_profile(pose: Pose) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample the bent page across its width: arc length s, flattened position x, height z."""
    width = pose.page_mm[0]
    s = np.linspace(0.0, width, _PROFILE_SAMPLES)
    u = s / width
    if pose.spine is None:
        z = pose.curl_mm[0] * (1 - u) ** 3 + pose.curl_mm[1] * u**3
    else:
        from_spine = u if pose.spine == "left" else 1 - u
        # A bound page leaves the gutter steeply, then flattens towards the fore-edge.
        z = pose.curl_mm[0] * (1 - np.exp(-from_spine / 0.12)) * (1 - 0.35 * from_spine)
    slope = np.gradient(z, s)
    x = np.concatenate([[0.0], np.cumsum(np.diff(s) / np.sqrt(1 + slope[1:] ** 2))])
    return s, x, z


def _page_to_world(pose: Pose, s: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, ...]:
    prof_s, prof_x, prof_z = curl_profile(pose)
    x = np.interp(s, prof_s, prof_x, left=None, right=None)
    x = np.where(s < 0, s, np.where(s > prof_s[-1], prof_x[-1] + s - prof_s[-1], x))
    z = np.interp(s, prof_s, prof_z)
    w, h = pose.page_mm
    c, sn = np.cos(np.radians(pose.rotation_deg)), np.sin(np.radians(pose.rotation_deg))
    lx, ly = x - w / 2, t - h / 2
    return pose.center_mm[0] + c * lx - sn * ly, pose.center_mm[1] + sn * lx + c * ly, z


def project(rig: Rig, pose: Pose, s: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Image pixel coordinates (..., 2) of page points given in mm (arc length s, t)."""
    wx, wy, wz = _page_to_world(pose, np.asarray(s, float), np.asarray(t, float))
    cam = np.stack([wx, wy, rig.height_mm - wz], axis=-1) @ rig.rotation().T
    cx, cy = (rig.frame_size[0] - 1) / 2, (rig.frame_size[1] - 1) / 2
    return np.stack([cx + rig.focal_px * cam[..., 0] / cam[..., 2],
                     cy + rig.focal_px * cam[..., 1] / cam[..., 2]], axis=-1)


def page_corners(rig: Rig, pose: Pose) -> np.ndarray:
    """The page's TL, TR, BR, BL corners in image pixels, shape (4, 2)."""
    w, h = pose.page_mm
    return project(rig, pose, np.array([0, w, w, 0.0]), np.array([0, 0, h, h]))


def effective_dpi(corners: np.ndarray, page_mm: tuple[float, float]) -> float:
    """Pixels per inch of paper: square root of pixel area over paper area (tilt averages out)."""
    area_px = cv2.contourArea(corners.astype(np.float32))
    area_in = page_mm[0] * page_mm[1] / MM_PER_INCH**2
    return float(np.sqrt(area_px / area_in))


def _image_to_page(rig: Rig, pose: Pose, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Invert the projection: page (s, t) in mm seen at image pixels (u, v)."""
    cx, cy = (rig.frame_size[0] - 1) / 2, (rig.frame_size[1] - 1) / 2
    rays = np.stack([(u - cx) / rig.focal_px, (v - cy) / rig.focal_px, np.ones_like(u)], axis=-1)
    rays = rays @ rig.rotation()  # R^T applied to row vectors
    prof_s, prof_x, prof_z = curl_profile(pose)
    w, h = pose.page_mm
    c, sn = np.cos(np.radians(pose.rotation_deg)), np.sin(np.radians(pose.rotation_deg))
    z = np.zeros_like(u)
    for _ in range(_INVERSE_ITERATIONS):
        # The ray meets the bent page where its height equals the page height below it:
        # a fixed point that converges in a few steps because the page slopes gently.
        lam = (rig.height_mm - z) / rays[..., 2]
        dx, dy = rays[..., 0] * lam - pose.center_mm[0], rays[..., 1] * lam - pose.center_mm[1]
        lx, t = c * dx + sn * dy + w / 2, -sn * dx + c * dy + h / 2
        s = np.interp(lx, prof_x, prof_s)
        s = np.where(lx < 0, lx, np.where(lx > prof_x[-1], prof_s[-1] + lx - prof_x[-1], s))
        z = np.interp(s, prof_s, prof_z)
    return s, t


def remap_grids(rig: Rig, pose: Pose, out_size: tuple[int, int], src_px_per_mm: float,
                step: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """cv2.remap maps from an output image of ``out_size`` (a scaled view of the sensor) to
    page-image pixels. Computed on a coarse grid and upscaled: the warp is smooth."""
    out_w, out_h = out_size
    scale = rig.frame_size[0] / out_w
    gw, gh = -(-out_w // step), -(-out_h // step)
    # Coarse sample i stands for output pixel (i + 0.5) * step - 0.5, which is exactly what
    # cv2.resize's linear interpolation assumes when it upsamples by ``step``.
    gu = ((np.arange(gw) + 0.5) * step - 0.5 + 0.5) * scale - 0.5
    gv = ((np.arange(gh) + 0.5) * step - 0.5 + 0.5) * scale - 0.5
    u, v = np.meshgrid(gu, gv)
    s, t = _image_to_page(rig, pose, u, v)
    map_x = (s * src_px_per_mm - 0.5).astype(np.float32)
    map_y = (t * src_px_per_mm - 0.5).astype(np.float32)
    size = (gw * step, gh * step)
    map_x = cv2.resize(map_x, size, interpolation=cv2.INTER_LINEAR)[:out_h, :out_w]
    map_y = cv2.resize(map_y, size, interpolation=cv2.INTER_LINEAR)[:out_h, :out_w]
    return np.ascontiguousarray(map_x), np.ascontiguousarray(map_y)
