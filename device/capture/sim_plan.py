"""Planning one simulated shot: page pose, light and the parameters of each requested defect."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Union

import numpy as np

from device.capture.sim_effects import Lighting
from device.capture.sim_geometry import Pose, Rig, page_corners

log = logging.getLogger(__name__)

DEFECTS = ("blur", "glare", "cutoff", "skew", "blank", "hand", "duplicate")
# One defect request: a name, several names, or names mapped to parameter overrides.
DefectSpec = Union[None, str, Sequence[str], Mapping[str, Mapping[str, Any]]]


@dataclass(frozen=True)
class ShotPlan:
    """Everything needed to draw one shot, decided before any pixel is drawn."""

    index: int
    page_key: tuple[int, int] | None  # (text index, page index); None for a blank sheet
    pose: Pose
    lighting: Lighting
    defects: dict[str, dict[str, Any]] = field(default_factory=dict)
    noise_offset: tuple[int, int] = (0, 0)
    jpeg_quality: int = 92


def normalize_defects(spec: DefectSpec) -> dict[str, dict[str, Any]]:
    """Turn any accepted defect request into {name: overrides}; reject unknown names."""
    if spec is None or spec == "":
        return {}
    if isinstance(spec, str):
        items: dict[str, dict[str, Any]] = {spec: {}}
    elif isinstance(spec, Mapping):
        items = {str(k): dict(v or {}) for k, v in spec.items()}
    else:
        items = {str(name): {} for name in spec}
    unknown = sorted(set(items) - set(DEFECTS))
    if unknown:
        raise ValueError(f"unknown defect(s) {', '.join(unknown)}; known: {', '.join(DEFECTS)}")
    return items


def defect_rng(seed: int, index: int, name: str) -> np.random.Generator:
    # Each defect draws from its own stream, so adding one leaves the rest of the shot unchanged:
    # a blurred shot and a clean shot with the same seed differ only by the blur.
    return np.random.default_rng([seed, index, 101 + DEFECTS.index(name)])


def plan_pose(rng: np.random.Generator, curl: float, bound: bool, page_number: int) -> Pose:
    """How an operator lays a page down: near the marks, a little turned, a little curled."""
    center = (float(rng.normal(0, 4)), float(rng.normal(0, 4)))
    rotation = float(np.clip(rng.normal(0, 1.0), -3, 3))
    if bound:
        spine = "left" if page_number % 2 else "right"  # recto pages have the spine on the left
        return Pose(center, rotation, (curl * float(rng.uniform(12, 20)), 0.0), spine)
    lift = (curl * float(rng.uniform(0, 6)), curl * float(rng.uniform(0, 6)))
    return Pose(center, rotation, lift)


def plan_lighting(rng: np.random.Generator, frame_size: tuple[int, int]) -> Lighting:
    """Room light: uneven, with a soft shadow (the operator, the stand) in about half the shots."""
    w, h = frame_size
    gradient = (float(rng.uniform(-0.15, 0.15)), float(rng.uniform(-0.15, 0.15)))
    light = Lighting(float(rng.uniform(0.9, 1.0)), gradient, float(rng.uniform(0.06, 0.16)))
    if rng.random() < 0.5:
        theta = rng.uniform(0, 2 * np.pi)
        n = np.array([np.cos(theta), np.sin(theta)])
        point = np.array([w / 2, h / 2]) + n * rng.uniform(0.3, 0.6) * np.hypot(w, h) / 2
        line = (float(n[0]), float(n[1]), float(-n @ point))
        light = replace(light, shadow_line=line, shadow_depth=float(rng.uniform(0.12, 0.3)),
                        shadow_softness=float(rng.uniform(0.04, 0.12) * w))
    return light


def _inside(rig: Rig, corners: np.ndarray) -> bool:
    w, h = rig.frame_size
    return bool((corners[:, 0] >= 0).all() and (corners[:, 0] <= w - 1).all()
                and (corners[:, 1] >= 0).all() and (corners[:, 1] <= h - 1).all())


def apply_skew(rig: Rig, pose: Pose, rng: np.random.Generator, params: dict[str, Any]) -> tuple[Pose, dict[str, Any]]:
    """Turn the page by 8-25 degrees (sign random), less if it would leave the frame."""
    fixed = "angle_deg" in params
    angle = float(params.get("angle_deg", rng.uniform(8, 25) * rng.choice([-1, 1])))
    skewed = replace(pose, rotation_deg=angle, center_mm=(0.0, 0.0))
    while not fixed and abs(angle) > 8 and not _inside(rig, page_corners(rig, skewed)):
        angle -= np.sign(angle)
        skewed = replace(skewed, rotation_deg=angle)
    return skewed, {"angle_deg": round(float(angle), 3)}


def apply_cutoff(rig: Rig, pose: Pose, rng: np.random.Generator, params: dict[str, Any]) -> tuple[Pose, dict[str, Any]]:
    """Slide the page so that one side hangs out of the frame by a fraction of the page."""
    side = str(params.get("side", rng.choice(["left", "right", "top", "bottom"])))
    fraction = float(params.get("fraction", rng.uniform(0.08, 0.22)))
    corners = page_corners(rig, pose)
    px_per_mm = rig.focal_px / rig.height_mm
    span_x, span_y = np.ptp(corners[:, 0]), np.ptp(corners[:, 1])
    w, h = rig.frame_size
    shift = {
        "left": (-fraction * span_x - corners[:, 0].min(), 0.0),
        "right": (w - 1 + fraction * span_x - corners[:, 0].max(), 0.0),
        "top": (0.0, -fraction * span_y - corners[:, 1].min()),
        "bottom": (0.0, h - 1 + fraction * span_y - corners[:, 1].max()),
    }[side]
    center = (pose.center_mm[0] + shift[0] / px_per_mm, pose.center_mm[1] + shift[1] / px_per_mm)
    return replace(pose, center_mm=center), {"side": side, "fraction": round(fraction, 4)}


def glare_params(corners: np.ndarray, rng: np.random.Generator, params: dict[str, Any], scale: float) -> dict[str, Any]:
    """A lamp's reflection somewhere on the middle of the page."""
    a, b = rng.uniform(0.25, 0.75, 2)
    top = corners[0] + (corners[1] - corners[0]) * a
    bottom = corners[3] + (corners[2] - corners[3]) * a
    centre = top + (bottom - top) * b
    out = {"center": (round(float(centre[0]), 1), round(float(centre[1]), 1)),
           "radius": round(float(rng.uniform(120, 260) * scale), 1),
           "peak": round(float(rng.uniform(130, 190)), 1)}
    out.update(params)
    return out


def blur_params(rng: np.random.Generator, params: dict[str, Any], scale: float) -> dict[str, Any]:
    """Missed focus (disc radius) or a shaken stand (streak length and angle), sensor pixels."""
    kind = str(params.get("kind", rng.choice(["focus", "motion"])))
    if kind == "focus":
        out: dict[str, Any] = {"kind": kind, "size": round(float(rng.uniform(5, 10) * scale), 2)}
    else:
        out = {"kind": kind, "size": round(float(rng.uniform(18, 40) * scale), 2),
               "angle_deg": round(float(rng.uniform(0, 180)), 1)}
    out.update(params)
    return out


def hand_params(corners: np.ndarray, rng: np.random.Generator, params: dict[str, Any], px_per_mm: float) -> dict[str, Any]:
    """A hand holding the page flat from one side, fingers reaching 4-9 cm onto it."""
    side = str(params.get("side", rng.choice(["left", "right", "bottom"])))
    ends = {"left": (0, 3), "right": (1, 2), "bottom": (3, 2)}[side]
    p, q = corners[ends[0]], corners[ends[1]]
    edge_point = p + (q - p) * rng.uniform(0.35, 0.75)
    inward = corners.mean(axis=0) - edge_point
    inward /= np.linalg.norm(inward)
    target = edge_point + inward * rng.uniform(45, 95) * px_per_mm
    direction = np.degrees(np.arctan2(inward[1], inward[0])) + rng.uniform(-15, 15)
    out = {"side": side, "fingertip": (round(float(target[0]), 1), round(float(target[1]), 1)),
           "direction_deg": round(float(direction), 1),
           "tone": str(rng.choice(["light", "medium", "tan", "dark"])),
           "mirror": bool(side == "left"), "shadow_depth": round(float(rng.uniform(0.25, 0.4)), 3)}
    out.update(params)
    return out
