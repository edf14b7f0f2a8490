"""The watch-folder driver: takes the pages a network scanner drops into a folder, never half-written."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from device.capture.camera import CameraCapabilities, CameraError, Capture
from device.errors import ConfigError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".pnm", ".ppm", ".pgm"})
# Names scanners and file-sharing tools give a file while they are still writing it.
_PARTIAL_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial", ".filepart")
TAKEN, REJECTED = "taken", "rejected"
PREVIEW_WIDTH = 640
A4_300DPI = (2480, 3508)


class FolderTimeoutError(CameraError):
    """No new page arrived in the folder within the timeout (nothing is wrong; nothing came)."""

    device_ok = True


@dataclass
class _Seen:
    """What a poll saw of one file: its size and mtime, since when, and whether it failed to decode."""

    size: int
    mtime_ns: int
    since: float
    undecodable: bool = False


class FolderCamera:
    """Pages from `folder`, oldest first. A file is taken only once its size and mtime have not
    changed for ``settle_s`` and it decodes completely; it is then moved into ``taken/`` (so a
    restart never takes it twice, and its bytes are kept). Files that are not images we take go to
    ``rejected/``, as do multi-page files and image files still undecodable ``reject_after_s``
    after they stopped changing; each rejection is logged with its reason.

    The folder is polled, not watched with inotify: polling works on network mounts (NFS, SMB),
    where inotify never hears of writes made by another machine, needs no library, and costs one
    directory listing every ``poll_s``; the settle check needs repeated looks anyway.
    """

    def __init__(self, folder: str | os.PathLike[str], settle_s: float = 2.0, poll_s: float = 0.25,
                 timeout_s: float = 60.0, reject_after_s: float = 600.0,
                 expected_resolution: tuple[int, int] = A4_300DPI) -> None:
        if settle_s < 0 or poll_s <= 0 or timeout_s < 0:
            raise ConfigError("settle_s and timeout_s cannot be negative and poll_s must be positive")
        self.folder = Path(folder)
        self.settle_s, self.poll_s, self.timeout_s = float(settle_s), float(poll_s), float(timeout_s)
        self.reject_after_s = float(reject_after_s)
        self._expected = expected_resolution
        self._seen: dict[str, _Seen] = {}
        self._last: np.ndarray | None = None
        self._started = False

    @property
    def capabilities(self) -> CameraCapabilities:
        size = (self._last.shape[1], self._last.shape[0]) if self._last is not None else self._expected
        return CameraCapabilities("folder", size, has_autofocus=False, can_lock_exposure=False, is_flat=True)

    def start(self) -> None:
        try:
            for sub in (TAKEN, REJECTED):
                (self.folder / sub).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CameraError(f"the scan folder {self.folder} cannot be used: {error}",
                              message_vi="Không dùng được thư mục nhận ảnh quét.") from error
        self._started = True
        log.info("watching %s for scans (settle %.1f s, poll %.2f s)", self.folder, self.settle_s, self.poll_s)

    def close(self) -> None:
        self._started = False
        self._seen.clear()

    def capture(self, timeout_s: float | None = None) -> Capture:
        """The oldest complete new page, waiting up to `timeout_s` (default: the camera's) for one."""
        if not self._started:
            raise CameraError("the folder camera is not started: call start() first")
        wait = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + wait
        while True:
            taken = self._poll()
            if taken is not None:
                return taken
            if time.monotonic() >= deadline:
                raise FolderTimeoutError(f"no new scan arrived in {self.folder} within {wait:.0f} s",
                                         message_vi="Chưa có trang quét mới trong thư mục.")
            time.sleep(min(self.poll_s, max(0.0, deadline - time.monotonic())))

    def _candidates(self) -> list[os.DirEntry[str]]:
        try:
            entries = [e for e in os.scandir(self.folder) if e.is_file(follow_symlinks=False)
                       and not e.name.startswith(".") and not e.name.lower().endswith(_PARTIAL_SUFFIXES)]
        except OSError as error:
            raise CameraError(f"the scan folder {self.folder} cannot be read: {error}",
                              message_vi="Không đọc được thư mục nhận ảnh quét.") from error
        return sorted(entries, key=lambda e: (e.stat().st_mtime_ns, e.name))

    def _poll(self) -> Capture | None:
        """One look at the folder: take the oldest file that is ready, if any."""
        now = time.monotonic()
        entries = self._candidates()
        self._seen = {e.name: self._seen[e.name] for e in entries if e.name in self._seen}
        for entry in entries:
            stat = entry.stat()
            seen = self._seen.get(entry.name)
            if seen is None or (seen.size, seen.mtime_ns) != (stat.st_size, stat.st_mtime_ns):
                self._seen[entry.name] = _Seen(stat.st_size, stat.st_mtime_ns, now)
                continue  # new or still changing
            if now - seen.since < self.settle_s or stat.st_size == 0:
                continue
            if Path(entry.name).suffix.lower() not in IMAGE_SUFFIXES:
                self._move(entry.name, REJECTED, "not an image type the box takes")
                continue
            if seen.undecodable:
                if now - seen.since >= self.reject_after_s:
                    self._move(entry.name, REJECTED, f"still not a complete image after {self.reject_after_s:.0f} s")
                continue
            image, reason, final = _decode(Path(entry.path))
            if final:
                self._move(entry.name, REJECTED, reason)
                continue
            if image is None:
                log.info("scan %s is not complete yet (%s); waiting for it to change", entry.name, reason)
                seen.undecodable = True
                continue
            return self._take(entry.name, image, stat.st_size)
        return None

    def _take(self, name: str, image: np.ndarray, size: int) -> Capture:
        kept = self._move(name, TAKEN, None)
        self._last = image
        metadata = {"file": name, "kept_as": str(kept.relative_to(self.folder)), "bytes": size,
                    "frame_size": (image.shape[1], image.shape[0])}
        return Capture(image, dt.datetime.now(dt.timezone.utc), "folder", metadata)

    def _move(self, name: str, sub: str, reason: str | None) -> Path:
        """Move a file into `sub`/, never over another one (scanners reuse names after a reset)."""
        source, target = self.folder / name, self.folder / sub / name
        number = 0
        while target.exists():
            number += 1
            target = self.folder / sub / f"{Path(name).stem}.{number}{Path(name).suffix}"
        try:
            os.replace(source, target)
        except OSError as error:
            raise CameraError(f"could not move {source} to {sub}/: {error}",
                              message_vi="Không chuyển được tệp ảnh quét.") from error
        self._seen.pop(name, None)
        if reason is None:
            log.info("took scan %s (kept as %s)", name, target.relative_to(self.folder))
        else:
            log.warning("rejected %s (moved to %s/): %s", name, sub, reason)
        return target

    def preview_frame(self) -> np.ndarray:
        """A folder has no live view: the last page taken, small, or a grey frame before one."""
        if self._last is None:
            return np.full((PREVIEW_WIDTH * 4 // 3, PREVIEW_WIDTH, 3), 128, np.uint8)
        height, width = self._last.shape[:2]
        size = (PREVIEW_WIDTH, max(1, round(height * PREVIEW_WIDTH / width)))
        return cv2.resize(self._last, size, interpolation=cv2.INTER_AREA)


def _decode(path: Path) -> tuple[np.ndarray | None, str, bool]:
    """(BGR uint8 image, "", False) for a complete single-page image; else (None, why, final):
    a truncated file fails the full load and may still grow; a multi-page file never will do."""
    try:
        with Image.open(path) as opened:
            pages = getattr(opened, "n_frames", 1)
            if pages > 1:
                return None, f"{pages} pages in one file; set the scanner to one file per page", True
            opened.load()  # decodes every byte: a truncated JPEG or PNG raises here
            image = ImageOps.exif_transpose(opened).convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        return None, f"{type(error).__name__}: {error}", False
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR), "", False
