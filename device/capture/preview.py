"""The preview producer: frames read from the camera at a set rate, one JPEG each for all viewers."""

from __future__ import annotations

import collections
import logging
import threading
import time

import cv2
import numpy as np

from device.capture.camera import CameraError
from device.capture.shoot import encode_jpeg
from device.capture.supervisor import POLL, CameraSupervisor
from device.config import CaptureConfig

log = logging.getLogger(__name__)


class PreviewFrame:
    """One preview frame and its JPEG, encoded once by whichever viewer asks first."""

    def __init__(self, seq: int, image: np.ndarray, quality: int) -> None:
        self.seq, self.image, self.at = seq, image, time.time()
        self._quality = quality
        self._jpeg: bytes | None = None
        self._lock = threading.Lock()

    def jpeg(self) -> bytes:
        with self._lock:
            if self._jpeg is None:
                self._jpeg = encode_jpeg(self.image, self._quality)
            return self._jpeg


def fit_preview(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """The frame shrunk (never enlarged) to fit the preview box in its own orientation."""
    h, w = frame.shape[:2]
    scale = min(1.0, max(width, height) / max(h, w), min(width, height) / min(h, w))
    if scale >= 1.0:
        return frame
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


class PreviewProducer:
    """Reads `preview_frame()` through the supervisor `preview_fps` times a second and keeps
    the latest frame; viewers wait for the next one. Nothing is encoded while nobody looks."""

    def __init__(self, supervisor: CameraSupervisor, settings: CaptureConfig) -> None:
        self._supervisor, self._settings = supervisor, settings
        self._frames = threading.Condition()
        self._frame: PreviewFrame | None = None
        self._times: collections.deque[float] = collections.deque(maxlen=30)
        self._stop = threading.Event()
        self.beat = time.monotonic()
        self._bad = False
        self._thread = threading.Thread(target=self._run, name="capture-preview", daemon=True)

    def start(self) -> None:
        self.beat = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._frames:
            self._frames.notify_all()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=5)

    def health(self, limit: float) -> str | None:
        if self._thread.ident is not None and not self._thread.is_alive() and not self._stop.is_set():
            return "the preview thread has died"
        idle = time.monotonic() - self.beat
        if self._thread.is_alive() and idle > limit:
            return f"the preview loop has not run for {idle:.0f} s"
        return None

    @property
    def latest(self) -> PreviewFrame | None:
        return self._frame

    def fps(self) -> float:
        """Frames per second over the last 30 frames (0 when none came for 2 s)."""
        times = list(self._times)
        if len(times) < 2 or time.monotonic() - times[-1] > 2.0:
            return 0.0
        return (len(times) - 1) / max(times[-1] - times[0], 1e-6)

    def wait(self, after: int, timeout: float) -> PreviewFrame | None:
        """The first frame newer than sequence number `after`, or None on timeout or stop."""
        with self._frames:
            self._frames.wait_for(lambda: self._stop.is_set() or (
                self._frame is not None and self._frame.seq > after), timeout)
            frame = self._frame
        if self._stop.is_set() or frame is None or frame.seq <= after:
            return None
        return frame

    def _run(self) -> None:
        period = 1.0 / self._settings.preview_fps
        seq = 0
        while not self._stop.is_set():
            started = time.monotonic()
            self.beat = started
            camera = self._supervisor.camera
            if camera is None:
                self._supervisor.available.wait(POLL)
                continue
            try:
                image = self._supervisor.call(camera, "preview", camera.preview_frame)
            except CameraError:
                continue  # the supervisor closed the camera and reopens it; status says why
            seq += 1
            self._publish(seq, image)
            self._stop.wait(max(0.0, period - (time.monotonic() - started)))

    def _publish(self, seq: int, image: object) -> None:
        if not isinstance(image, np.ndarray) or image.ndim != 3 or image.dtype != np.uint8:
            if not self._bad:  # once per run of bad frames, not 12 times a second
                log.warning("camera %s returned an unusable preview frame (%s); skipped",
                            self._supervisor.kind, getattr(image, "shape", type(image).__name__))
            self._bad = True
            return
        self._bad = False
        s = self._settings
        frame = PreviewFrame(seq, fit_preview(image, s.preview_width, s.preview_height),
                             s.preview_jpeg_quality)
        with self._frames:
            self._frame = frame
            self._times.append(time.monotonic())
            self._frames.notify_all()
