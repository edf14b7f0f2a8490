"""One frame of a raw capture as the worker sees it (EXIF turn applied to frame 0), read small."""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_TYPES = ("image/jpeg", "image/png", "image/tiff", "image/webp")
# What Pillow raises for a file it cannot read as an image (truncated, damaged, not an image).
UNREADABLE = (OSError, UnidentifiedImageError, EOFError, SyntaxError, ValueError)
_EXIF_ORIENTATION = 0x0112
_TURNED_SIDEWAYS = (5, 6, 7, 8)  # EXIF orientations that swap width and height


def frame_size(path: Path, frame: int) -> tuple[int, int]:
    """Width and height of the frame as the worker reads it, without decoding it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(path) as image:
            image.seek(frame)
            width, height = image.size
            turned = frame == 0 and image.getexif().get(_EXIF_ORIENTATION, 1) in _TURNED_SIDEWAYS
    return (height, width) if turned else (width, height)


def small_frame(path: Path, frame: int, draft_side: int) -> Image.Image:
    """The frame in RGB, turned as the worker turns it; a JPEG is decoded at the smallest
    1/2..1/8 scale still covering `draft_side` (callers shrink it further as they need)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(path) as image:
            image.seek(frame)
            image.draft("RGB", (draft_side, draft_side))
            picture = ImageOps.exif_transpose(image) if frame == 0 else image
            return picture.convert("RGB")
