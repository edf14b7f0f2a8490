"""Small JPEG thumbnails of pages, made once from the page's master (or its raw shot while it
waits for processing) and cached under <data_dir>/cache/thumbs by source hash and size."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from device.box import Box
from device.errors import NotFoundError
from device.files import atomic_output

log = logging.getLogger(__name__)

THUMB_SIZE = 240  # long side in pixels: a page grid on a tablet, sharp on a 2x screen at 120
_IMAGE_TYPES = ("image/jpeg", "image/png", "image/tiff", "image/webp")


def cache_folder(box: Box) -> Path:
    return box.config.paths.data_dir / "cache" / "thumbs"


def source_of(page: dict[str, Any]) -> tuple[str, int, list | None] | None:
    """(blob hash, frame, region) the thumbnail is made from; None when no image is readable
    yet (an imported PDF page before processing)."""
    if page.get("master_sha256"):
        return page["master_sha256"], 0, None
    if page.get("media_type") in _IMAGE_TYPES:
        return page["raw_sha256"], int(page.get("frame") or 0), page.get("region")
    return None


def thumbnail(box: Box, page: dict[str, Any], size: int = THUMB_SIZE) -> Path:
    """The cached thumbnail file of `page`; NotFoundError when it has no image to show."""
    source = source_of(page)
    if source is None:
        raise NotFoundError(f"page {page['id']} has no image to show yet",
                            message_vi="Trang chưa có ảnh để hiển thị.")
    sha256, frame, region = source
    cached = cache_folder(box) / f"{sha256}-{frame}-{page['id'] if region else 0}-{size}.jpg"
    if cached.is_file():
        return cached
    data = _render(box.blobs.path(sha256), frame, region, size)
    cached.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(cached) as handle:
        handle.write(data)
    log.info("page %d: thumbnail %s made", page["id"], cached.name)
    return cached


def _render(path: Path, frame: int, region: list | None, size: int) -> bytes:
    try:
        with Image.open(path) as image:
            if frame:
                image.seek(frame)
            if region is None:
                image.draft("RGB", (size, size))  # JPEG: decode at 1/2..1/8 scale, much faster
            picture = image.convert("RGB")
    except (OSError, UnidentifiedImageError, EOFError) as exc:
        raise NotFoundError(f"{path.name}: cannot be read as an image ({exc})",
                            message_vi="Không đọc được ảnh của trang.") from None
    if region:
        xs, ys = [point[0] for point in region], [point[1] for point in region]
        picture = picture.crop((int(min(xs)), int(min(ys)), int(max(xs)), int(max(ys))))
    picture.thumbnail((size, size))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=80, optimize=True)
    return out.getvalue()
