"""The Raspberry Pi camera driver (picamera2): one running dual-stream configuration, AF and AE locks."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from device.capture.camera import CameraCapabilities, CameraError, Capture
from device.errors import ConfigError

log = logging.getLogger(__name__)

HQ_SENSOR = (4056, 3040)  # assumed until the camera is opened and says what it has
PREVIEW_WIDTH = 640
AUTOFOCUS_MODES = ("each", "start", "off")
UNAVAILABLE = ("picamera2 is only available on Raspberry Pi OS; install python3-picamera2 with apt "
               "and create the venv with --system-site-packages (see docs/raspberry-pi.md)")
UNAVAILABLE_VI = ("Không dùng được máy ảnh Raspberry Pi trên máy này: cần Raspberry Pi OS với gói "
                  "python3-picamera2.")
_NO_FRAMES_VI = "Máy ảnh không gửi ảnh: kiểm tra cáp camera rồi khởi động lại dịch vụ chụp."

Picamera2Factory = Callable[[int], Any]


def import_picamera2() -> Picamera2Factory:
    """picamera2's Picamera2 class; CameraError saying how to get it where it cannot be imported.

    A numpy that pip installed over the system's breaks the import with a ValueError
    ("numpy.dtype size changed"): that is reported with the same advice.
    """
    try:
        module = importlib.import_module("picamera2")
    except ImportError as error:
        raise CameraError(f"{UNAVAILABLE} ({error})", message_vi=UNAVAILABLE_VI) from error
    except ValueError as error:
        raise CameraError(f"picamera2 does not load with this numpy ({error}): reinstall the venv with "
                          "the constraints file that pins the system's numpy (docs/raspberry-pi.md)",
                          message_vi=UNAVAILABLE_VI) from error
    return module.Picamera2


def to_bgr(array: np.ndarray, fmt: str) -> np.ndarray:
    """A picamera2 main-stream array as BGR uint8. picamera2 names formats as libcamera and DRM do:
    "RGB888" is stored B, G, R in memory, which is already OpenCV's order (picamera2 issues #191,
    #848); "BGR888" is R, G, B; the X formats carry a fourth, unused byte."""
    if fmt in ("RGB888", "XRGB8888"):
        return np.ascontiguousarray(array[..., :3])
    if fmt in ("BGR888", "XBGR8888"):
        return np.ascontiguousarray(array[..., 2::-1])
    raise CameraError(f"unexpected picamera2 stream format {fmt!r} for a still")


class PiCamera:
    """A Raspberry Pi camera (HQ, Camera Module 3) kept running between shots.

    One still configuration with two streams runs all the time: ``main`` at full sensor size
    (RGB888) and ``lores`` at 640 px wide (YUV420) for the preview. Switching between a preview
    and a still mode costs 500-700 ms per shot (platform notes); one running configuration makes
    a shot cost at most one frame, at the price of a preview limited to the sensor's full-size
    frame rate (about 10 fps on the HQ camera, 14 on Camera Module 3).

    ``autofocus``: "each" runs an autofocus cycle before every shot, "start" once at start,
    "off" never; cameras without AfMode (the HQ camera) skip it. ``picamera2_factory`` makes the
    Picamera2 object from the camera number (tests pass a fake; the default imports picamera2).
    """

    def __init__(self, camera_num: int = 0, still_size: tuple[int, int] | None = None,
                 preview_width: int = PREVIEW_WIDTH, buffer_count: int = 2, autofocus: str = "each",
                 timeout_s: float = 5.0, picamera2_factory: Picamera2Factory | None = None) -> None:
        if autofocus not in AUTOFOCUS_MODES:
            raise ConfigError(f"autofocus must be one of {', '.join(AUTOFOCUS_MODES)}, not {autofocus!r}")
        if buffer_count < 1 or timeout_s <= 0:
            raise ConfigError("buffer_count must be at least 1 and timeout_s positive")
        self._factory = picamera2_factory or import_picamera2()
        self.camera_num = int(camera_num)
        self._still_size = tuple(still_size) if still_size else None
        self._preview_width = int(preview_width)
        self._buffer_count = int(buffer_count)
        self.autofocus = autofocus
        self.timeout_s = float(timeout_s)
        self._camera: Any = None
        self._size: tuple[int, int] | None = None
        self._lores: tuple[int, int] | None = None
        self._has_af = False
        self._locked: dict[str, Any] | None = None
        self._shots = 0

    @property
    def capabilities(self) -> CameraCapabilities:
        return CameraCapabilities("picamera2", self._size or self._still_size or HQ_SENSOR,
                                  has_autofocus=self._has_af, can_lock_exposure=True, is_flat=False)

    @property
    def exposure_locked(self) -> bool:
        return self._locked is not None

    def start(self) -> None:
        """Open the camera, configure both streams and start it (the seconds-long cold start)."""
        if self._camera is not None:
            return
        started = time.perf_counter()
        try:
            camera = self._factory(self.camera_num)
        except (RuntimeError, IndexError, OSError) as error:
            raise CameraError(f"Raspberry Pi camera {self.camera_num} could not be opened ({error}): check "
                              "the ribbon cable; `rpicam-hello --list-cameras` lists the cameras found",
                              message_vi="Không mở được máy ảnh: kiểm tra cáp camera.") from error
        try:
            self._configure(camera)
            camera.start()
        except (RuntimeError, ValueError) as error:
            camera.close()
            raise CameraError(f"Raspberry Pi camera {self.camera_num} could not be started: {error}",
                              message_vi="Không khởi động được máy ảnh.") from error
        self._camera = camera
        if self._has_af and self.autofocus == "start":
            self._focus()
        log.info("Raspberry Pi camera %d (%s) started: %dx%d still, %dx%d preview, autofocus %s, in %.2f s",
                 self.camera_num, camera.camera_properties.get("Model", "?"), *self._size, *self._lores,
                 self.autofocus if self._has_af else "absent", time.perf_counter() - started)

    def _configure(self, camera: Any) -> None:
        sensor = tuple(camera.sensor_resolution)
        size = self._still_size or sensor
        # Keep the sensor's aspect ratio in the preview; YUV420 needs even sizes.
        lores = (self._preview_width, 2 * round(self._preview_width * size[1] / size[0] / 2))
        config = camera.create_still_configuration(
            main={"size": size, "format": "RGB888"}, lores={"size": lores, "format": "YUV420"},
            buffer_count=self._buffer_count, display=None)
        camera.configure(config)
        self._size, self._lores = (int(size[0]), int(size[1])), lores
        self._has_af = "AfMode" in camera.camera_controls

    def _require_started(self) -> Any:
        if self._camera is None:
            raise CameraError("the Raspberry Pi camera is not started: call start() first")
        return self._camera

    def _focus(self) -> bool:
        try:
            focused = bool(self._camera.autofocus_cycle(wait=self.timeout_s))
        except TimeoutError as error:
            raise self._stalled("autofocus") from error
        if not focused:
            log.warning("camera %d: autofocus did not settle; taking the shot anyway", self.camera_num)
        return focused

    def _stalled(self, what: str) -> CameraError:
        cancel = getattr(self._camera, "cancel_all_and_flush", None)
        if cancel is not None:
            cancel()
        return CameraError(f"Raspberry Pi camera {self.camera_num} sent no frame within "
                           f"{self.timeout_s:.0f} s during {what}: check the ribbon cable",
                           message_vi=_NO_FRAMES_VI)

    def lock_exposure(self) -> dict[str, Any]:
        """Freeze exposure, gain and white balance at their current values so a batch matches."""
        camera = self._require_started()
        try:
            metadata = camera.capture_metadata(wait=self.timeout_s)
        except TimeoutError as error:
            raise self._stalled("exposure lock") from error
        controls: dict[str, Any] = {"AeEnable": False, "AwbEnable": False,
                                    "ExposureTime": int(metadata["ExposureTime"]),
                                    "AnalogueGain": float(metadata["AnalogueGain"])}
        if "ColourGains" in metadata:
            controls["ColourGains"] = tuple(float(g) for g in metadata["ColourGains"])
        camera.set_controls(controls)
        self._locked = controls
        log.info("camera %d: exposure locked at %d us, gain %.2f, colour gains %s", self.camera_num,
                 controls["ExposureTime"], controls["AnalogueGain"], controls.get("ColourGains"))
        return dict(controls)

    def unlock_exposure(self) -> None:
        self._require_started().set_controls({"AeEnable": True, "AwbEnable": True})
        self._locked = None

    def preview_frame(self) -> np.ndarray:
        """The latest low-resolution frame as BGR (from the lores stream; no mode switch)."""
        camera = self._require_started()
        try:
            with camera.captured_request(wait=self.timeout_s) as request:
                yuv = request.make_array("lores")
        except TimeoutError as error:
            raise self._stalled("preview") from error
        return cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420)[:, : self._lores[0]]

    def capture(self) -> Capture:
        """A full-resolution still whose exposure began after this call (after autofocus if any)."""
        camera = self._require_started()
        started = time.perf_counter()
        focused = self._focus() if self._has_af and self.autofocus == "each" else None
        try:
            # flush=True: a frame exposed after now, not one buffered while the page was laid down.
            with camera.captured_request(wait=self.timeout_s, flush=True) as request:
                array = request.make_array("main")
                metadata = request.get_metadata()
        except TimeoutError as error:
            raise self._stalled("capture") from error
        except RuntimeError as error:
            raise CameraError(f"Raspberry Pi camera {self.camera_num} returned no usable frame: {error}",
                              message_vi=_NO_FRAMES_VI) from error
        image = to_bgr(array, "RGB888")
        self._shots += 1
        return Capture(image, dt.datetime.now(dt.timezone.utc), "picamera2",
                       self._metadata(image, metadata, focused, started))

    def _metadata(self, image: np.ndarray, frame: dict[str, Any], focused: bool | None,
                  started: float) -> dict[str, Any]:
        keep = {"ExposureTime": "exposure_us", "AnalogueGain": "analogue_gain", "DigitalGain": "digital_gain",
                "ColourGains": "colour_gains", "ColourTemperature": "colour_temperature_k",
                "LensPosition": "lens_position", "Lux": "lux", "SensorTimestamp": "sensor_timestamp_ns"}
        metadata = {ours: frame[theirs] for theirs, ours in keep.items() if theirs in frame}
        metadata.update({"frame_size": (image.shape[1], image.shape[0]), "shot_index": self._shots - 1,
                         "autofocus_ok": focused, "exposure_locked": self.exposure_locked,
                         "capture_ms": round((time.perf_counter() - started) * 1000.0, 1)})
        return metadata

    def close(self) -> None:
        if self._camera is not None:
            camera, self._camera = self._camera, None
            try:
                camera.stop()
            finally:
                camera.close()
