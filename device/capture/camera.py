"""The camera contract: the Camera protocol, what one shot returns, and capture errors."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from device.errors import SohoaError

log = logging.getLogger(__name__)

Point = tuple[float, float]


class CaptureError(SohoaError):
    """Base of every capture failure."""

    exit_code = 69


class CameraError(CaptureError):
    """The camera could not be opened, configured or read; the message says what to do.

    ``device_ok`` is True for failures of one shot that leave the device itself working (no
    scan arrived yet, a paper jam, an open cover, an empty feeder, a busy scanner): the capture
    service reports them and keeps the device open instead of closing and reopening it."""

    http_status = 503  # the camera, not the request, is at fault; try again later
    device_ok: bool = False


@dataclass(frozen=True)
class CameraCapabilities:
    """What a camera can do, so that the capture service and the UI can adapt to it."""

    name: str
    max_resolution: tuple[int, int]  # (width, height) in pixels
    has_autofocus: bool
    can_lock_exposure: bool
    is_flat: bool  # a scanner or a flatbed: pages come out flat, no perspective to correct


@dataclass(frozen=True)
class ShotTruth:
    """What the simulator really put in front of the lens: the answers QC and cleanup must find.

    ``corners`` are the page's corners in image pixels, in the order top-left, top-right,
    bottom-right, bottom-left of the page itself (not of the image). ``defects`` maps each
    defect name applied to this shot to its parameters. ``effective_dpi`` is sensor pixels per
    inch of paper, measured from the corners (so tilt and distance are included).
    """

    text: str
    corners: tuple[Point, Point, Point, Point]
    defects: dict[str, dict[str, Any]]
    effective_dpi: float
    seed: int
    shot_index: int
    source: str  # which text and page: "<name>#p<page number>"
    page_in_frame: bool  # all four corners inside the image

    @property
    def corners_array(self) -> np.ndarray:
        """The corners as a (4, 2) float32 array, in TL, TR, BR, BL order."""
        return np.array(self.corners, dtype=np.float32)


@dataclass(frozen=True)
class Capture:
    """One full-resolution shot: BGR uint8 pixels plus what is known about them."""

    image: np.ndarray
    captured_at: dt.datetime
    camera_name: str
    metadata: dict[str, Any] = field(default_factory=dict)
    ground_truth: ShotTruth | None = None  # only the simulated camera knows the truth


@runtime_checkable
class Camera(Protocol):
    """A source of page photos. The capture service keeps it started between shots."""

    @property
    def capabilities(self) -> CameraCapabilities: ...

    def start(self) -> None: ...

    def preview_frame(self) -> np.ndarray: ...

    def capture(self) -> Capture: ...

    def close(self) -> None: ...
