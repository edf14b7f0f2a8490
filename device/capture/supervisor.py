"""Owning the camera: open it once and keep it started, serialize its calls, reopen it after a failure.

A CameraError (or any error) from a camera call closes the camera and marks it unavailable
with the reason; a background loop reopens it with a doubling back-off until it works again,
so a camera unplugged and plugged back needs no restart of the service. Every call is
watched, so a wedged camera is visible from outside (the systemd watchdog stops being pinged).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from device.capture.camera import Camera, CameraCapabilities, CameraError
from device.config import CaptureConfig
from device.errors import SohoaError

log = logging.getLogger(__name__)

_DRIVER_TIMEOUT_MARGIN_S = 15.0  # a driver that gives up after its timeout has this long to say so

POLL = 0.25  # seconds a loop waits at most before it looks at the stop flag again


class CameraUnavailableError(CameraError):
    """The camera failed or is missing; the service is reopening it in the background."""


class CallWatch:
    """Which camera calls are running and since when: a wedged camera is seen from outside."""

    def __init__(self) -> None:
        self._running: dict[int, tuple[str, float, float]] = {}
        self._lock = threading.Lock()
        self._next = 0

    @contextmanager
    def watch(self, name: str, allowance: float = 0.0) -> Iterator[None]:
        """Time the call `name`; it counts as stuck only past max(limit, allowance) seconds
        (a driver that may rightly wait long, a scan with a 120 s timeout, gives its own)."""
        with self._lock:
            self._next += 1
            token = self._next
            self._running[token] = (name, time.monotonic(), allowance)
        try:
            yield
        finally:
            with self._lock:
                del self._running[token]

    def stalled(self, limit: float) -> str | None:
        now = time.monotonic()
        with self._lock:
            for name, since, allowance in self._running.values():
                if now - since > max(limit, allowance):
                    return f"camera call {name} has been running for {now - since:.0f} s"
        return None

    def busy(self) -> bool:
        """Whether a camera call is running now."""
        with self._lock:
            return bool(self._running)


class CameraSupervisor:
    """One camera, opened by `open_camera` (again after each failure), used one call at a time."""

    def __init__(self, open_camera: Callable[[], Camera], settings: CaptureConfig, *, kind: str,
                 first_camera: Camera | None = None,
                 on_status: Callable[[str], object] | None = None) -> None:
        self.kind, self.settings = kind, settings
        self._open_camera, self._pending, self._on_status = open_camera, first_camera, on_status
        self._camera: Camera | None = None
        self.capabilities: CameraCapabilities | None = None
        self.reason: str | None = "the camera is being opened"
        self._lock = threading.Lock()  # held during every camera call
        self._state = threading.Lock()  # guards _camera and reason
        self.available, self._lost, self._stop = threading.Event(), threading.Event(), threading.Event()
        self.calls = CallWatch()
        self.beat = time.monotonic()
        self._thread = threading.Thread(target=self._supervise, name="capture-supervisor", daemon=True)

    @property
    def camera(self) -> Camera | None:
        return self._camera

    def start(self) -> None:
        self.beat = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        """Stop the reopening loop (the camera stays open until `close`)."""
        self._stop.set()
        self._lost.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=5)

    def close(self, timeout: float = 5.0) -> None:
        """Close the camera, unless a wedged call has held it for `timeout` seconds."""
        self.stop()
        if not self._lock.acquire(timeout=timeout):
            log.error("camera %s is stuck in a call; leaving it open", self.kind)
            return
        try:
            with self._state:
                camera, self._camera = self._camera, None
                self.reason = "the capture service stopped"
            self.available.clear()
            for each in (camera, self._pending):  # the pending one: closed before it was started
                if each is not None:
                    self._close(each)
            self._pending = None
        finally:
            self._lock.release()

    def health(self, limit: float) -> str | None:
        """What is stuck (a camera call, the loop), or None."""
        stalled = self.calls.stalled(limit)
        if stalled:
            return stalled
        if self._thread.ident is not None and not self._thread.is_alive() and not self._stop.is_set():
            return "the camera supervisor thread has died"
        idle = time.monotonic() - self.beat
        if self._thread.is_alive() and idle > limit:
            return f"the camera supervisor has not run for {idle:.0f} s"
        return None

    def current(self) -> Camera:
        """The open camera; CameraUnavailableError (with the reason) while there is none."""
        with self._state:
            camera, reason = self._camera, self.reason
        if camera is None:
            raise CameraUnavailableError(
                f"the camera is not available ({reason}); the service keeps trying to reopen it: "
                "check its cable and power", message_vi="Máy ảnh chưa sẵn sàng (đang kết nối lại); "
                "chưa chụp được trang này. Hãy kiểm tra dây cáp và nguồn.")
        return camera

    def call(self, camera: Camera, name: str, function: Callable[[], Any]) -> Any:
        """Run one call of `camera` under the camera lock; a failure closes the camera."""
        with self._lock:
            if self._camera is not camera:
                raise CameraUnavailableError("the camera was lost", message_vi="Máy ảnh bị ngắt kết nối.")
            try:
                # A driver's own timeout (a slow scan) plus a margin is not a stall.
                timeout = float(getattr(camera, "timeout_s", 0.0) or 0.0)
                allowance = timeout + _DRIVER_TIMEOUT_MARGIN_S if timeout > 0 else 0.0
                with self.calls.watch(name, allowance):
                    return function()
            except CameraError as exc:
                if not exc.device_ok:  # a jam or "no scan yet" is this shot's problem, not the device's
                    self._failed(camera, exc)
                raise
            except Exception as exc:  # a driver's own error still means the camera failed
                log.exception("camera %s: unexpected error in %s", self.kind, name)
                self._failed(camera, exc)
                raise CameraError(f"camera {self.kind} failed: {exc}",
                                  message_vi="Máy ảnh gặp lỗi; chưa chụp được trang này.") from exc

    def _failed(self, camera: Camera, exc: Exception) -> None:
        """Called with the camera lock held: forget and close the camera, wake the loop."""
        with self._state:
            if self._camera is not camera:
                return
            self._camera, self.reason = None, str(exc)
        self.available.clear()
        log.error("camera %s failed: %s; reopening it in the background", self.kind, exc)
        self._close(camera)
        self._lost.set()
        self._report(f"camera unavailable: {exc}")

    def _close(self, camera: Camera) -> None:
        try:
            camera.close()
        except Exception as exc:  # closing a camera that has gone must not stop the recovery
            log.warning("closing camera %s: %s", self.kind, exc)

    def _report(self, text: str) -> None:
        if self._on_status is not None:
            self._on_status(text)

    def _supervise(self) -> None:
        delay = self.settings.reconnect_min_seconds
        while not self._stop.is_set():
            self.beat = time.monotonic()
            if self._camera is not None:
                delay = self.settings.reconnect_min_seconds
                self._lost.wait(POLL)
                self._lost.clear()
                continue
            if self._try_open():
                continue
            end = time.monotonic() + delay
            while not self._stop.is_set() and time.monotonic() < end:  # keep the beat going
                self.beat = time.monotonic()
                self._stop.wait(max(0.0, min(POLL, end - time.monotonic())))
            delay = min(delay * 2, self.settings.reconnect_max_seconds)

    def _try_open(self) -> bool:
        camera, self._pending = self._pending, None
        try:
            with self.calls.watch("open"):
                camera = camera if camera is not None else self._open_camera()
            with self._lock, self.calls.watch("start"):
                camera.start()
        except Exception as exc:  # any failure to open is retried; the reason is shown in status
            if not isinstance(exc, SohoaError):
                log.exception("camera %s: unexpected error while opening it", self.kind)
            log.warning("camera %s cannot be opened: %s", self.kind, exc)
            with self._state:
                self.reason = str(exc)
            if camera is not None:
                self._close(camera)
            return False
        self.capabilities = camera.capabilities
        with self._state:
            self._camera, self.reason = camera, None
        self.available.set()
        log.info("camera %s ready (%s, %dx%d)", self.kind, self.capabilities.name,
                 *self.capabilities.max_resolution)
        self._report(f"camera {self.kind} ready")
        return True


def capabilities_json(caps: CameraCapabilities | None) -> dict[str, Any] | None:
    if caps is None:
        return None
    return {"name": caps.name, "max_resolution": list(caps.max_resolution),
            "has_autofocus": caps.has_autofocus, "can_lock_exposure": caps.can_lock_exposure,
            "is_flat": caps.is_flat}
