"""The Raspberry Pi camera driver, through a fake Picamera2 written as code (real camera: `hardware`)."""

from __future__ import annotations

import contextlib
import sys

import cv2
import numpy as np
import pytest

from device.capture.camera import Camera, CameraError
from device.capture.picamera import PiCamera, to_bgr
from device.capture.registry import open_camera

HQ = (2028, 1520)  # the HQ camera's 2x2-binned size: same 4:3 shape as its sensor, a quarter of the pixels
CM3 = (2304, 1296)  # Camera Module 3, binned: 16:9
METADATA = {"ExposureTime": 12000, "AnalogueGain": 2.5, "DigitalGain": 1.0, "ColourGains": (1.9, 1.6),
            "LensPosition": 3.2, "SensorTimestamp": 123456789}


class FakeRequest:
    """One completed request: arrays made from the fake's scene in the configured formats."""

    def __init__(self, camera: FakePicamera2) -> None:
        self.camera = camera
        self.released = False

    def make_array(self, name: str) -> np.ndarray:
        if self.camera.broken_buffers:
            raise RuntimeError("could not map the buffer")
        stream = self.camera.config[name]
        width, height = stream["size"]
        rgb = np.array(self.camera.scene_rgb, np.uint8)
        if stream["format"] == "RGB888":  # picamera2 stores this B, G, R
            return np.broadcast_to(rgb[::-1], (height, width, 3)).copy()
        if stream["format"] == "BGR888":
            return np.broadcast_to(rgb, (height, width, 3)).copy()
        if stream["format"] == "YUV420":
            bgr = np.broadcast_to(rgb[::-1], (height, width, 3)).copy()
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)  # (height * 3 / 2, width), Y then U then V
        raise RuntimeError(f"format {stream['format']} not faked")

    def get_metadata(self) -> dict:
        return dict(self.camera.metadata)

    def release(self) -> None:
        assert not self.released, "a request was released twice"
        self.released = True


class FakePicamera2:
    """The part of picamera2.Picamera2 the driver uses, recording every call in `calls`."""

    def __init__(self, sensor=HQ, autofocus: bool = False) -> None:
        self.sensor_resolution = sensor
        self.camera_properties = {"Model": "imx708" if autofocus else "imx477"}
        self.camera_controls = {"ExposureTime": (29, 694000000, 20000), "AnalogueGain": (1.0, 22.3, 1.0)}
        if autofocus:
            self.camera_controls["AfMode"] = (0, 2, 0)
        self.calls: list[tuple] = []
        self.requests: list[FakeRequest] = []
        self.controls: dict = {}
        self.metadata = dict(METADATA)
        self.scene_rgb = (200, 30, 10)  # a red page
        self.config: dict | None = None
        self.started = self.closed = self.broken_buffers = self.stalled = False
        self.af_result = True

    def create_still_configuration(self, main=None, lores=None, raw=None, buffer_count=1, display=None,
                                   **rest) -> dict:
        self.calls.append(("create_still_configuration", main, lores, buffer_count))
        return {"use_case": "still", "main": {"format": "BGR888", "size": self.sensor_resolution, **(main or {})},
                "lores": None if lores is None else {"format": "YUV420", **lores},
                "buffer_count": buffer_count, "display": display}

    def configure(self, config) -> None:
        self.calls.append(("configure",))
        self.config = config

    def start(self) -> None:
        self.calls.append(("start",))
        self.started = True

    def stop(self) -> None:
        self.calls.append(("stop",))
        self.started = False

    def close(self) -> None:
        self.calls.append(("close",))
        self.closed = True

    def set_controls(self, controls) -> None:
        self.calls.append(("set_controls", dict(controls)))
        self.controls.update(controls)

    def capture_metadata(self, wait=None) -> dict:
        return dict(self.metadata)

    def autofocus_cycle(self, wait=None) -> bool:
        self.calls.append(("autofocus_cycle",))
        return self.af_result

    def cancel_all_and_flush(self) -> None:
        self.calls.append(("cancel_all_and_flush",))

    def capture_request(self, wait=None, flush=None) -> FakeRequest:
        """Like picamera2's: the caller owns the request and must release it."""
        self.calls.append(("capture_request", flush))
        if not self.started:
            raise RuntimeError("camera not started")
        if self.stalled:
            raise TimeoutError("timed out waiting for a frame")
        request = FakeRequest(self)
        self.requests.append(request)
        return request

    @contextlib.contextmanager
    def captured_request(self, wait=None, flush=None):
        """Like picamera2's: the request is released however the block ends."""
        request = self.capture_request(wait=wait, flush=flush)
        try:
            yield request
        finally:
            request.release()


def started(fake: FakePicamera2, **options) -> PiCamera:
    camera = PiCamera(picamera2_factory=lambda number: fake, **options)
    camera.start()
    return camera


def names(fake: FakePicamera2) -> list[str]:
    return [call[0] for call in fake.calls]


def test_one_dual_stream_configuration_serves_preview_and_full_size_stills():
    fake = FakePicamera2()
    camera = started(fake)
    assert isinstance(camera, Camera)
    [config_call] = [c for c in fake.calls if c[0] == "create_still_configuration"]
    assert config_call[1] == {"size": HQ, "format": "RGB888"}
    assert config_call[2] == {"size": (640, 480), "format": "YUV420"}
    for _ in range(3):
        assert camera.preview_frame().shape == (480, 640, 3)
        shot = camera.capture()
        assert shot.image.shape == (HQ[1], HQ[0], 3) and shot.image.dtype == np.uint8
    assert names(fake).count("configure") == 1 and names(fake).count("start") == 1  # never a mode switch
    assert camera.capabilities.max_resolution == HQ
    assert shot.metadata["exposure_us"] == 12000 and shot.metadata["frame_size"] == HQ


def test_the_preview_keeps_the_sensor_shape():
    camera = started(FakePicamera2(sensor=CM3, autofocus=True))
    assert camera.preview_frame().shape == (360, 640, 3)


def test_colours_come_out_in_bgr_order():
    fake = FakePicamera2()
    camera = started(fake)
    assert tuple(camera.capture().image[10, 10]) == (10, 30, 200)
    preview_pixel = camera.preview_frame()[10, 10].astype(int)
    assert np.abs(preview_pixel - (10, 30, 200)).max() <= 4  # through YUV and back


def test_to_bgr_reads_every_picamera2_layout():
    bgr = np.array([[[1, 2, 3]]], np.uint8)
    assert to_bgr(bgr, "RGB888").tolist() == [[[1, 2, 3]]]
    assert to_bgr(bgr[..., ::-1], "BGR888").tolist() == [[[1, 2, 3]]]
    assert to_bgr(np.array([[[1, 2, 3, 255]]], np.uint8), "XRGB8888").tolist() == [[[1, 2, 3]]]


def test_each_shot_waits_for_a_frame_exposed_after_the_shutter():
    fake = FakePicamera2()
    started(fake).capture()
    assert ("capture_request", True) in fake.calls


def test_autofocus_runs_before_each_still_on_a_camera_that_has_it():
    fake = FakePicamera2(sensor=CM3, autofocus=True)
    camera = started(fake)
    camera.capture()
    camera.capture()
    calls = names(fake)
    assert calls.count("autofocus_cycle") == 2
    assert calls.index("autofocus_cycle") < calls.index("capture_request")
    assert camera.capabilities.has_autofocus


def test_autofocus_is_skipped_on_the_hq_camera():
    fake = FakePicamera2(autofocus=False)
    camera = started(fake)
    shot = camera.capture()
    assert "autofocus_cycle" not in names(fake)
    assert shot.metadata["autofocus_ok"] is None and not camera.capabilities.has_autofocus


def test_autofocus_once_at_start_when_asked():
    fake = FakePicamera2(sensor=CM3, autofocus=True)
    camera = started(fake, autofocus="start")
    camera.capture()
    camera.capture()
    assert names(fake).count("autofocus_cycle") == 1


def test_a_failed_focus_still_takes_the_shot_and_says_so():
    fake = FakePicamera2(sensor=CM3, autofocus=True)
    fake.af_result = False
    assert started(fake).capture().metadata["autofocus_ok"] is False


def test_locking_exposure_freezes_the_current_exposure_gain_and_white_balance():
    fake = FakePicamera2()
    camera = started(fake)
    camera.lock_exposure()
    assert fake.controls == {"AeEnable": False, "AwbEnable": False, "ExposureTime": 12000,
                             "AnalogueGain": 2.5, "ColourGains": (1.9, 1.6)}
    assert camera.capture().metadata["exposure_locked"] is True
    camera.unlock_exposure()
    assert fake.controls["AeEnable"] is True and fake.controls["AwbEnable"] is True
    assert not camera.exposure_locked


def test_the_request_is_released_even_when_making_the_array_fails():
    fake = FakePicamera2()
    camera = started(fake)
    fake.broken_buffers = True
    with pytest.raises(CameraError, match="no usable frame") as raised:
        camera.capture()
    assert raised.value.message_vi
    assert fake.requests and all(r.released for r in fake.requests)


def test_every_request_goes_back_to_the_camera():
    fake = FakePicamera2()
    camera = started(fake)
    camera.preview_frame()
    camera.capture()
    assert len(fake.requests) == 2 and all(r.released for r in fake.requests)


def test_a_camera_that_stops_sending_frames_is_a_camera_error():
    fake = FakePicamera2()
    camera = started(fake)
    fake.stalled = True
    with pytest.raises(CameraError, match="sent no frame"):
        camera.capture()
    assert "cancel_all_and_flush" in names(fake)


def test_no_camera_on_the_cable_is_a_camera_error():
    def no_camera(number):
        raise IndexError("list index out of range")  # what picamera2 raises when it finds none
    with pytest.raises(CameraError, match="ribbon cable"):
        PiCamera(picamera2_factory=no_camera).start()


def test_close_stops_and_closes_the_camera():
    fake = FakePicamera2()
    camera = started(fake)
    camera.close()
    assert names(fake)[-2:] == ["stop", "close"]
    with pytest.raises(CameraError, match="not started"):
        camera.capture()


def test_choosing_picamera2_where_it_is_not_installed_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)  # import picamera2 -> ImportError, even on a Pi
    with pytest.raises(CameraError, match="--system-site-packages") as raised:
        open_camera("picamera2")
    assert "python3-picamera2" in str(raised.value)
    assert "Raspberry Pi" in raised.value.message_vi


def test_a_picamera2_broken_by_a_pip_numpy_is_reported_with_the_fix(tmp_path, monkeypatch):
    package = tmp_path / "picamera2"
    package.mkdir()
    (package / "__init__.py").write_text(
        'raise ValueError("numpy.dtype size changed, may indicate binary incompatibility")\n')
    monkeypatch.delitem(sys.modules, "picamera2", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(CameraError, match="constraints file"):
        PiCamera()


@pytest.mark.hardware
def test_the_real_camera_previews_and_shoots_full_size():
    camera = PiCamera()
    camera.start()
    try:
        preview = camera.preview_frame()
        assert preview.shape[1] == 640 and preview.dtype == np.uint8
        shot = camera.capture()
        width, height = camera.capabilities.max_resolution
        assert shot.image.shape == (height, width, 3)
        assert shot.image.std() > 1.0  # a real picture, not a blank buffer
        camera.lock_exposure()
        assert camera.capture().metadata["exposure_locked"]
    finally:
        camera.close()
