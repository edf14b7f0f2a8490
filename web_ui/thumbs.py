"""Small JPEG thumbnails of pages, made from the page's current image (its master once processed,
else its raw shot, turned as the worker turns it) and cached under <data_dir>/cache/thumbs by
everything they are made of, so that a retake, a new master or a turn makes a new file."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from pathlib import Path
from typing import Any

from flask import Response, send_file

from device.box import Box
from device.db.pages import manual_quad_of
from device.errors import NotFoundError
from device.files import atomic_output
from device.frames import IMAGE_TYPES, UNREADABLE, frame_size, small_frame

log = logging.getLogger(__name__)

THUMB_SIZE = 240  # long side in pixels: a page grid on a tablet, sharp on a 2x screen at 120


def cache_folder(box: Box) -> Path:
    return box.config.paths.data_dir / "cache" / "thumbs"


def source_of(page: dict[str, Any]) -> dict[str, Any] | None:
    """What the thumbnail is made from: {sha256, frame, region, rotation}; None when no image
    is readable yet (an imported PDF page before processing). The master only while it is the
    page's current image: a page queued again (turned, corners moved) shows its raw shot turned
    and cut as it will be, not the master it is about to lose."""
    raw_readable = page.get("media_type") in IMAGE_TYPES and page.get("raw_sha256")
    if page.get("master_sha256") and (page.get("state") == "processed" or not raw_readable):
        return {"sha256": page["master_sha256"], "frame": 0, "region": None, "rotation": 0}
    if raw_readable:
        region = manual_quad_of(page) if page.get("manual_quad") else None
        return {"sha256": page["raw_sha256"], "frame": int(page.get("frame") or 0),
                "region": region or page.get("region"),
                "rotation": int(page.get("rotation") or 0) % 360}
    return None


def _cache_name(source: dict[str, Any], size: int) -> str:
    extra = ""
    if source["region"] or source["rotation"]:
        shape = json.dumps([source["region"], source["rotation"]], sort_keys=True)
        extra = "-" + hashlib.sha256(shape.encode()).hexdigest()[:12]
    return f"{source['sha256']}-{source['frame']}{extra}-{size}.jpg"


def thumbnail(box: Box, page: dict[str, Any], size: int = THUMB_SIZE) -> Path:
    """The cached thumbnail file of `page`; NotFoundError when it has no image to show."""
    source = source_of(page)
    if source is None:
        raise NotFoundError(f"page {page['id']} has no image to show yet",
                            message_vi="Trang chưa có ảnh để hiển thị.")
    cached = cache_folder(box) / _cache_name(source, size)
    if cached.is_file():
        return cached
    data = _render(box.blobs.path(source["sha256"]), source, size)
    cached.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(cached) as handle:
        handle.write(data)
    log.info("page %d: thumbnail %s made", page["id"], cached.name)
    return cached


def send_thumbnail(path: Path) -> Response:
    """A thumbnail for the browser: it may keep it but must ask again each time (a cheap 304
    while unchanged), since its URL stays the same when the page's image changes."""
    response = send_file(path, mimetype="image/jpeg", conditional=True, etag=True)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _render(path: Path, source: dict[str, Any], size: int) -> bytes:
    frame, region = source["frame"], source["region"]
    try:
        full = frame_size(path, frame)
        # JPEG: decode at 1/2..1/8 scale, much faster; a region needs more pixels to cut from
        picture = small_frame(path, frame, size * 4 if region else size)
    except UNREADABLE as exc:
        raise NotFoundError(f"{path.name}: cannot be read as an image ({exc})",
                            message_vi="Không đọc được ảnh của trang.") from None
    if region:  # the region is in the EXIF-turned frame's full-size pixels
        sx, sy = picture.width / full[0], picture.height / full[1]
        xs, ys = [point[0] * sx for point in region], [point[1] * sy for point in region]
        picture = picture.crop((int(min(xs)), int(min(ys)), int(max(xs)), int(max(ys))))
    if source["rotation"]:
        picture = picture.rotate(-source["rotation"], expand=True)  # the operator's turn, clockwise
    picture.thumbnail((size, size))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=80, optimize=True)
    return out.getvalue()
