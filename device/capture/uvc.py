"""The USB document-camera driver (UVC through OpenCV), which also plays video files and image sequences."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from collections.abc import Sequence

import cv2
import numpy as np

from device.capture.camera import CameraCapabilities, CameraError, Capture
from device.errors import ConfigError

log = logging.getLogger(__name__)

# Document cameras' usual still sizes, largest first (13, 12, 8, 5, 4, 3, 2 MP and the rest).
COMMON_RESOLUTIONS: tuple[tuple[int, int], ...] = (
    (4208, 3120), (4032, 3024), (3840, 2160), (3264, 2448), (2592, 1944), (2560, 1440),
    (2048, 1536), (1920, 1080), (1600, 1200), (1280, 960), (1280, 720), (640, 480),
)
PREVIEW_WIDTH = 640
DEFAULT_WARMUP_FRAMES = 5  # auto-exposure and white balance settle within a few frames
_UNPLUGGED_VI = "Máy ảnh USB không gửi ảnh: kiểm tra cáp USB rồi khởi động lại dịch vụ chụp."


def _is_live(device: int | str) -> bool:
    return isinstance(device, int) or str(device).startswith("/dev/")


def _open(device: int | str) -> cv2.VideoCapture:
    """A VideoCapture on the right backend: V4L2 for cameras on Linux, image sequences by pattern."""
    if _is_live(device):
        backend = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
    else:
        backend = cv2.CAP_IMAGES if "%" in str(device) else cv2.CAP_ANY
    return cv2.VideoCapture(device, backend)


def _fourcc_text(value: float) -> str:
    code = int(value)
    return "".join(chr((code >> 8 * i) & 0xFF) for i in range(4)).strip("\x00") if code else ""


class UvcCamera:
    """A USB (UVC) camera by index or /dev path, or a video file or image-sequence pattern such as
    ``frames/%03d.png`` (for tests), all through OpenCV's VideoCapture.

    ``warmup_frames`` (at least one) are read and thrown away at start. Before each capture
    ``drain_frames`` buffered frames are dropped so the shot shows the page as it is now (None:
    the capture buffer's size for a camera, 0 for a file, which has no stale frames).
    """

    def __init__(self, device: int | str = 0, resolutions: Sequence[tuple[int, int]] = COMMON_RESOLUTIONS,
                 warmup_frames: int = DEFAULT_WARMUP_FRAMES, drain_frames: int | None = None,
                 fourcc: str | None = "MJPG") -> None:
        if warmup_frames < 1 or (drain_frames is not None and drain_frames < 0):
            raise ConfigError("warmup_frames must be at least 1 and drain_frames cannot be negative")
        self.device = device
        self._resolutions = [tuple(map(int, size)) for size in resolutions]
        self._warmup = int(warmup_frames)
        self._drain = drain_frames
        self._fourcc = fourcc
        self._capture: cv2.VideoCapture | None = None
        self._size: tuple[int, int] | None = None
        self._shots = 0

    @property
    def capabilities(self) -> CameraCapabilities:
        size = self._size or (self._resolutions[0] if self._resolutions else (1920, 1080))
        return CameraCapabilities("uvc", size, has_autofocus=False, can_lock_exposure=False, is_flat=False)

    def start(self) -> None:
        """Open the device, ask for its largest size, and let exposure settle on warm-up frames."""
        if self._capture is not None:
            return
        started = time.perf_counter()
        capture = _open(self.device)
        if not capture.isOpened():
            raise CameraError(f"the USB camera {self.device!r} could not be opened: check that it is "
                              "plugged in and that no other program uses it", message_vi=_UNPLUGGED_VI)
        self._capture = capture
        if _is_live(self.device):
            if self._fourcc:
                # MJPEG first: raw YUYV over USB 2 tops out far below a document camera's stills.
                capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*self._fourcc))
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        granted = self._negotiate(capture)
        for _ in range(self._warmup - 1):  # the last warm-up frame is read: it gives the real size
            if not capture.grab():
                self.close()
                raise CameraError(f"the USB camera {self.device!r} delivered no frame while warming up",
                                  message_vi=_UNPLUGGED_VI)
        frame = self._read()
        self._size = (frame.shape[1], frame.shape[0])
        if self._size != granted:
            log.warning("camera %s: granted %dx%d but delivers %dx%d", self.device, *granted, *self._size)
        if self._drain is None:
            self._drain = max(1, int(capture.get(cv2.CAP_PROP_BUFFERSIZE))) if _is_live(self.device) else 0
        log.info("USB camera %s started: %dx%d %s, %d warm-up frames, draining %d, in %.2f s", self.device,
                 *self._size, _fourcc_text(capture.get(cv2.CAP_PROP_FOURCC)) or "?", self._warmup,
                 self._drain, time.perf_counter() - started)

    def _negotiate(self, capture: cv2.VideoCapture) -> tuple[int, int]:
        """Ask for each size from the largest down; keep the largest the device grants."""
        def read_back() -> tuple[int, int]:
            return int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))

        best = read_back()
        for width, height in self._resolutions:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            granted = read_back()
            if granted[0] * granted[1] > best[0] * best[1]:
                best = granted
            if granted == (width, height):
                break  # the largest size the device has from the list
        if read_back() != best:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, best[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, best[1])
        log.debug("camera %s: asked the common sizes, granted %dx%d", self.device, *best)
        return best

    def _read(self) -> np.ndarray:
        """The next frame; CameraError when the device stops delivering (unplugged, end of file)."""
        if self._capture is None:
            raise CameraError("the USB camera is not started: call start() first")
        ok, frame = self._capture.read()
        if not ok or frame is None:
            raise CameraError(f"the USB camera {self.device!r} is not delivering frames: it was "
                              "unplugged or stopped (or the file ended)", message_vi=_UNPLUGGED_VI)
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        return frame

    def preview_frame(self) -> np.ndarray:
        frame = self._read()
        height, width = frame.shape[:2]
        if width <= PREVIEW_WIDTH:
            return frame
        size = (PREVIEW_WIDTH, max(1, round(height * PREVIEW_WIDTH / width)))
        return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)

    def capture(self) -> Capture:
        """A fresh full-size frame: the frames buffered while idle are dropped first."""
        if self._capture is None:
            raise CameraError("the USB camera is not started: call start() first")
        started = time.perf_counter()
        for _ in range(self._drain or 0):
            if not self._capture.grab():
                break  # _read() below says what went wrong
        frame = self._read()
        self._shots += 1
        metadata = {"frame_size": (frame.shape[1], frame.shape[0]), "device": str(self.device),
                    "fourcc": _fourcc_text(self._capture.get(cv2.CAP_PROP_FOURCC)),
                    "shot_index": self._shots - 1, "capture_ms": round((time.perf_counter() - started) * 1000.0, 1)}
        return Capture(frame, dt.datetime.now(dt.timezone.utc), "uvc", metadata)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
