"""Capture-service helpers: a box configured for quick recovery, cameras written as code, a
service running in this process on a real Unix socket."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from device.capture.camera import CameraCapabilities, CameraError, Capture
from device.capture.client import CaptureClient, socket_path
from device.capture.simulated import SimulatedCamera
from tests.conftest import BOX_CONFIG

SMALL = (760, 1014)  # a quarter of the sensor each way: QC still works, and a shot is quick
# Fast recovery and a short stall limit so the tests wait seconds, not minutes.
CAPTURE_CONFIG = """
[capture]
preview_fps = 15
reconnect_min_seconds = 0.05
reconnect_max_seconds = 0.2
stall_seconds = 1.0
camera_options = {resolution = [760, 1014], seed = 5}
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """The shared test configuration plus a [capture] section (used by `box` and `sohoa`)."""
    path = tmp_path / "sohoa.toml"
    path.write_text(BOX_CONFIG + CAPTURE_CONFIG, encoding="utf-8")
    return path


def wait_for(predicate: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    """Wait until `predicate()` is true; fail naming `what` if it never becomes so."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


class Cable:
    """The camera's USB cable: the test pulls it out and plugs it back in."""

    def __init__(self) -> None:
        self.plugged = True
        self.pull_at_next_capture = False  # pulled out while the shutter is down
        self.opened = 0  # cameras made through it (the service reopens after a failure)


class CabledCamera:
    """A simulated camera behind a Cable: every call raises CameraError while it is unplugged,
    as a real driver does when its device node has gone."""

    def __init__(self, cable: Cable, seed: int = 5) -> None:
        self.cable = cable
        cable.opened += 1
        self.real = SimulatedCamera(seed=seed, resolution=SMALL)

    @property
    def capabilities(self) -> CameraCapabilities:
        return self.real.capabilities

    def _check(self) -> None:
        if not self.cable.plugged:
            raise CameraError("camera disconnected: /dev/video0 is gone")

    def start(self) -> None:
        self._check()
        self.real.start()

    def preview_frame(self) -> np.ndarray:
        self._check()
        return self.real.preview_frame()

    def capture(self) -> Capture:
        if self.cable.pull_at_next_capture:
            self.cable.plugged = self.cable.pull_at_next_capture = False
        self._check()
        return self.real.capture()

    def close(self) -> None:
        self.real.close()


class WedgedCamera(CabledCamera):
    """Its preview read hangs (a stuck driver) once `wedge` is set, until `release` is set."""

    def __init__(self, cable: Cable) -> None:
        super().__init__(cable)
        self.wedge, self.release = threading.Event(), threading.Event()

    def preview_frame(self) -> np.ndarray:
        if self.wedge.is_set():
            self.release.wait()
        return super().preview_frame()


@contextmanager
def running_service(box, camera_factory, **kwargs) -> Iterator[tuple[object, CaptureClient]]:
    """`run_service` in a thread on the box's socket, the camera open; yields (service, client)."""
    from device.capture.server import run_service

    stop = threading.Event()
    ready: list = []
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            run_service(box, camera_kind="simulated", stop=stop, camera_factory=camera_factory,
                        on_ready=ready.append, **kwargs)
        except BaseException as exc:  # reported in the test's thread below
            errors.append(exc)

    thread = threading.Thread(target=serve, name="test-capture-service")
    thread.start()
    wait_for(lambda: ready or errors, "the capture service to listen")
    if errors:
        thread.join()
        raise errors[0]
    client = CaptureClient(socket_path(box.config), timeout=60)
    try:
        yield ready[0], client
    finally:
        client.close()
        stop.set()
        thread.join(timeout=60)
        assert not thread.is_alive(), "the capture service did not stop"
        assert not errors, errors


def no_hands(image: np.ndarray) -> list:
    """A hand detector that never sees one, for tests where the model's time is only noise."""
    return []
