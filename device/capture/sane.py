"""The SANE scanner driver: flatbed pages and document-feeder batches through `scanimage`."""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from device.capture.camera import CameraCapabilities, CameraError, Capture
from device.errors import ConfigError
from device.capture.scanimage import DeviceOptions, Scanimage, ScannerError, ScannerNotFoundError

log = logging.getLogger(__name__)

A4_MM = (210.0, 297.0)  # the scan area assumed until the scanner says what it has
PREVIEW_WIDTH = 640
_SOURCE_WORDS = {"flatbed": ("flatbed",), "adf": ("feeder", "adf", "automatic")}


def decode_page(data: bytes, what: str) -> np.ndarray:
    """A scanned page (PNM, TIFF, PNG...) as BGR uint8; ScannerError if it does not decode."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ScannerError(f"{what}: the scanner returned {len(data)} bytes that are not an image",
                           message_vi="Máy quét trả về dữ liệu không phải ảnh; hãy quét lại.")
    return image


def _pick(wanted: str, offered: Sequence[str], option: str, aliases: dict[str, tuple[str, ...]]) -> str:
    """The scanner's own spelling of `wanted` (exact, any case, or an alias such as "adf")."""
    for choice in offered:
        if choice.lower() == wanted.lower():
            return choice
    for choice in offered:
        if any(word in choice.lower() for word in aliases.get(wanted.lower(), ())):
            return choice
    raise CameraError(f"the scanner does not offer {option} {wanted!r}; it offers: {', '.join(offered)}",
                      message_vi=f"Máy quét không hỗ trợ {option} {wanted!r}.")


class SaneScanner:
    """A scanner behind SANE. ``device`` None takes the first scanner `scanimage -L` lists.

    ``source`` is the scanner's name for it or "flatbed" / "adf"; ``area_mm`` (width, height)
    None scans the scanner's whole area. ``extra_options`` are passed to scanimage as they are
    (backend-specific options). ``scanimage`` is the program to run (a stand-in in tests).
    """

    def __init__(self, device: str | None = None, resolution: int = 300, mode: str = "Color",
                 source: str = "flatbed", area_mm: tuple[float, float] | None = None,
                 scanimage: str | os.PathLike[str] = "scanimage", timeout_s: float = 120.0,
                 extra_options: Sequence[str] = ()) -> None:
        if isinstance(resolution, bool) or not isinstance(resolution, int) or not 50 <= resolution <= 4800:
            raise ConfigError(f"resolution must be a whole number of dpi from 50 to 4800, not {resolution!r}")
        self._tool = Scanimage(scanimage, timeout_s)
        self.timeout_s = float(timeout_s)  # the capture service allows a scan this long
        self.device = device
        self.resolution = int(resolution)
        self.mode, self.source = mode, source
        self.area_mm = area_mm
        self._extra = list(extra_options)
        self._options: DeviceOptions | None = None
        self._args: list[str] = []
        self._last: np.ndarray | None = None
        self._pages = 0
        self.version: str | None = None

    @property
    def capabilities(self) -> CameraCapabilities:
        width, height = self.area_mm or A4_MM
        pixels = (int(width / 25.4 * self.resolution), int(height / 25.4 * self.resolution))  # as scanners floor
        return CameraCapabilities("sane", pixels, has_autofocus=False, can_lock_exposure=False, is_flat=True)

    def start(self) -> None:
        """Check scanimage, find the scanner and check the options asked of it against its own."""
        if self._options is not None:
            return
        self.version = self._tool.version()
        if self.device is None:
            found = self._tool.devices()
            if not found:
                raise ScannerNotFoundError("no scanner was found: check that it is plugged in and "
                                           "switched on (`scanimage -L` lists none)",
                                           message_vi="Không tìm thấy máy quét: kiểm tra cáp và nguồn điện.")
            self.device = found[0]
        self._options = self._tool.options(self.device)
        self._args = self._scan_args(self._options)
        log.info("scanner %s ready (scanimage %s): %s", self.device, self.version, " ".join(self._args))

    def _scan_args(self, options: DeviceOptions) -> list[str]:
        args = ["-d", str(self.device), "--format=pnm"]
        if "--mode" in options.choices:
            self.mode = _pick(self.mode, options.choices["--mode"], "mode", {"color": ("color", "colour")})
            args += ["--mode", self.mode]
        args += ["--resolution", str(self._check_resolution(options))]
        if "--source" in options.choices:
            self.source = _pick(self.source, options.choices["--source"], "source", _SOURCE_WORDS)
            args += ["--source", self.source]
        elif self.source.lower() not in ("flatbed", ""):
            raise CameraError(f"the scanner {self.device} has no document feeder (no --source option)",
                              message_vi="Máy quét này không có khay nạp giấy tự động.")
        if "-x" in options.ranges and "-y" in options.ranges:
            most = (options.ranges["-x"][1], options.ranges["-y"][1])
            width, height = self.area_mm or most
            if width > most[0] or height > most[1]:
                raise CameraError(f"area {width}x{height} mm is larger than the scanner's "
                                  f"{most[0]}x{most[1]} mm")
            self.area_mm = (width, height)
            args += ["-l", "0", "-t", "0", "-x", f"{width:g}", "-y", f"{height:g}"]
        return args + self._extra

    def _check_resolution(self, options: DeviceOptions) -> int:
        if "--resolution" in options.ranges:
            low, high = options.ranges["--resolution"]
            if not low <= self.resolution <= high:
                raise CameraError(f"the scanner scans at {low:g} to {high:g} dpi, not {self.resolution}")
        elif "--resolution" in options.choices:
            offered = options.choices["--resolution"]
            if str(self.resolution) not in offered:
                raise CameraError(f"the scanner does not offer {self.resolution} dpi; it offers: "
                                  f"{', '.join(offered)}", message_vi="Máy quét không hỗ trợ độ phân giải này.")
        return self.resolution

    def _require_started(self) -> None:
        if self._options is None:
            raise CameraError("the scanner is not started: call start() first")

    def _capture(self, image: np.ndarray, started: float, page: int) -> Capture:
        self._last = image
        self._pages += 1
        metadata: dict[str, Any] = {
            "dpi": self.resolution, "device": self.device, "mode": self.mode, "source": self.source,
            "area_mm": self.area_mm, "frame_size": (image.shape[1], image.shape[0]), "page": page,
            "scan_ms": round((time.perf_counter() - started) * 1000.0, 1),
        }
        return Capture(image, dt.datetime.now(dt.timezone.utc), "sane", metadata)

    def capture(self) -> Capture:
        """Scan one page from the configured source."""
        self._require_started()
        started = time.perf_counter()
        image = decode_page(self._tool.scan(self._args), f"scanner {self.device}")
        log.info("scanned a page on %s: %dx%d at %d dpi in %.0f ms", self.device, image.shape[1],
                 image.shape[0], self.resolution, (time.perf_counter() - started) * 1000.0)
        return self._capture(image, started, self._pages + 1)

    def scan_batch(self, count: int | None = None) -> Iterator[Capture]:
        """Scan pages until the feeder is empty (or `count` pages), yielding each once complete.

        A scanner error (jam, cover open...) is raised after the pages already yielded; an
        empty feeder before the first page raises FeederEmptyError.
        """
        self._require_started()
        args = list(self._args) + ([f"--batch-count={int(count)}"] if count else [])
        with tempfile.TemporaryDirectory(prefix="sohoa-scan-") as folder:
            started = time.perf_counter()
            for number, path in enumerate(self._tool.batch(args, Path(folder)), start=1):
                image = decode_page(path.read_bytes(), f"page {number} from {self.device}")
                path.unlink()
                log.info("batch page %d from %s: %dx%d", number, self.device, image.shape[1], image.shape[0])
                yield self._capture(image, started, number)
                started = time.perf_counter()

    def preview_frame(self) -> np.ndarray:
        """A scanner has no live view: the last page scanned, small, or a grey frame before one."""
        self._require_started()
        if self._last is None:
            return np.full((PREVIEW_WIDTH * 4 // 3, PREVIEW_WIDTH, 3), 128, np.uint8)
        height, width = self._last.shape[:2]
        size = (PREVIEW_WIDTH, max(1, round(height * PREVIEW_WIDTH / width)))
        return cv2.resize(self._last, size, interpolation=cv2.INTER_AREA)

    def close(self) -> None:
        self._options = None
        self._last = None
