"""The cameras the box can drive, by the name the command line (and later the config) uses."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from device.capture.camera import Camera
from device.errors import ConfigError

log = logging.getLogger(__name__)

# name -> "module:factory". Imported only when chosen: a driver's library (picamera2, SANE)
# exists only where its hardware does, and the `sohoa` command should not pay for OpenCV.
CAMERAS: dict[str, str] = {
    "simulated": "device.capture.simulated:SimulatedCamera",
    "picamera2": "device.capture.picamera:PiCamera",
    "uvc": "device.capture.uvc:UvcCamera",
    "sane": "device.capture.sane:SaneScanner",
    "folder": "device.capture.folder:FolderCamera",
}


def open_camera(name: str, **options: Any) -> Camera:
    """A new (not yet started) camera of kind `name`; ConfigError naming the known kinds."""
    target = CAMERAS.get(name)
    if target is None:
        known = ", ".join(sorted(CAMERAS))
        raise ConfigError(f"unknown camera {name!r}; available cameras: {known}",
                          message_vi=f"Không có máy ảnh {name!r}; các máy ảnh có: {known}")
    module_name, factory_name = target.split(":")
    factory = getattr(importlib.import_module(module_name), factory_name)
    log.debug("opening camera %s (%s)", name, target)
    return factory(**options)
