"""A page's pixels from its raw bytes: one frame of an image file, or one PDF page rendered at 300 dpi.

The worker and `sohoa process` both read pages through `decode_page`, so a page looks the same
to the pipeline whichever way it came in.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import tempfile
import warnings

import cv2
import numpy as np
import pikepdf
from PIL import Image, ImageOps, UnidentifiedImageError

from device.errors import InputError
from device.intake import PDF_RENDER_DPI  # one resolution for the size check and the render

log = logging.getLogger(__name__)

PDF_RENDER_TIMEOUT_S = 120
_MIN_DECLARED_DPI = 10  # below this a file's dpi tag is junk, not a resolution
_BAND_ROWS = 256  # rows copied out of Pillow at a time
_EXIF_ORIENTATION = 0x0112


def decode_page(data: bytes, media_type: str, frame: int, *,
                max_pixels: int) -> tuple[np.ndarray, float | None]:
    """The page as BGR (or grey) uint8 and the dpi the file declares (None if it does not).

    Raises InputError, saying why, for a damaged file or a page over `max_pixels`."""
    if media_type == "application/pdf":
        return render_pdf_page(data, frame, max_pixels=max_pixels), float(PDF_RENDER_DPI)
    return _decode_image(data, frame, max_pixels)


def _decode_image(data: bytes, frame: int, max_pixels: int) -> tuple[np.ndarray, float | None]:
    # Pillow's own guard refuses at twice its limit while opening; ours refuses at the limit.
    Image.MAX_IMAGE_PIXELS = max_pixels
    megapixels = max_pixels / 1e6
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.seek(frame)
                if image.width * image.height > max_pixels:
                    raise InputError(f"the page is {image.width}×{image.height} pixels, over the "
                                     f"{megapixels:g} megapixel limit",
                                     message_vi="Ảnh quá lớn (vượt giới hạn số điểm ảnh)")
                dpi = image.info.get("dpi")
                array = _pixels(image, frame)
    except Image.DecompressionBombError:
        raise InputError(f"the image declares far more than the {megapixels:g} megapixel limit "
                         "(a decompression bomb?)",
                         message_vi="Ảnh quá lớn (vượt giới hạn số điểm ảnh)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(f"the image is damaged or truncated ({exc})",
                         message_vi="Ảnh bị hỏng hoặc không đầy đủ") from None
    declared = float(dpi[0]) if dpi and float(dpi[0]) >= _MIN_DECLARED_DPI else None
    return array, declared


def _pixels(image: Image.Image, frame: int) -> np.ndarray:
    """The frame as grey or BGR with as few full-size copies as possible. Pillow keeps RGB as
    4 bytes a pixel and `np.asarray` goes through `tobytes()`, so a 12 MP photo read naively
    added 165 MB to a page process's peak memory; copying it out in bands adds ~40 MB."""
    image.load()
    if frame == 0 and image.getexif().get(_EXIF_ORIENTATION, 1) != 1:
        image = ImageOps.exif_transpose(image)  # it copies even when there is nothing to turn
    grey = image.mode in ("1", "L", "I;16", "I")
    if image.mode not in ("L", "RGB"):
        image = image.convert("L" if grey else "RGB")
    width, height = image.size
    out = np.empty((height, width) if grey else (height, width, 3), np.uint8)
    for top in range(0, height, _BAND_ROWS):
        bottom = min(height, top + _BAND_ROWS)
        out[top:bottom] = np.asarray(image.crop((0, top, width, bottom)))
    return out if grey else cv2.cvtColor(out, cv2.COLOR_RGB2BGR, dst=out)


def render_pdf_page(data: bytes, frame: int, *, max_pixels: int,
                    dpi: int = PDF_RENDER_DPI) -> np.ndarray:
    """Page `frame` (0-based) of a PDF rendered in colour by poppler's pdftoppm, as BGR."""
    _check_pdf_page_size(data, frame, max_pixels, dpi)
    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, "in.pdf")
        with open(source, "wb") as handle:
            handle.write(data)
        argv = ["pdftoppm", "-r", str(dpi), "-png", "-f", str(frame + 1), "-l", str(frame + 1),
                "-singlefile", source, os.path.join(folder, "out")]
        try:
            result = subprocess.run(argv, capture_output=True, timeout=PDF_RENDER_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InputError(f"cannot render PDF page {frame + 1}: {exc}") from None
        if result.returncode != 0:
            raise InputError(f"cannot render PDF page {frame + 1}: "
                             f"{result.stderr.decode(errors='replace').strip()[:200]}")
        with Image.open(os.path.join(folder, "out.png")) as image:
            return cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2BGR)


def _check_pdf_page_size(data: bytes, frame: int, max_pixels: int, dpi: int) -> None:
    """Refuse, before rendering, a page that would exceed the pixel limit at `dpi`."""
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            if not 0 <= frame < len(pdf.pages):
                raise InputError(f"the PDF has no page {frame + 1}")
            left, bottom, right, top = (float(v) for v in pdf.pages[frame].mediabox)
    except pikepdf.PdfError as exc:
        raise InputError(f"the PDF is damaged ({exc})", message_vi="Tệp PDF bị hỏng") from None
    pixels = abs(right - left) * abs(top - bottom) * (dpi / 72) ** 2
    if pixels > max_pixels:
        raise InputError(f"PDF page {frame + 1} would be {pixels / 1e6:.0f} megapixels at {dpi} dpi,"
                         f" over the {max_pixels / 1e6:g} megapixel limit",
                         message_vi="Trang PDF quá lớn (vượt giới hạn số điểm ảnh)")


def crop_region(image: np.ndarray,
                region: list[list[float]] | None) -> tuple[np.ndarray, np.ndarray | None]:
    """The part of a capture that holds this page (one side of an open register): the box
    around the region's points, clipped to the image, and the region's quad in that box's
    pixels (None unless the region is four corners). No region: the whole image and None."""
    if not region:
        return image, None
    points = np.asarray(region, dtype=np.float64).reshape(-1, 2)
    height, width = image.shape[:2]
    x0, y0 = np.clip(np.floor(points.min(axis=0)), 0, [width, height]).astype(int)
    x1, y1 = np.clip(np.ceil(points.max(axis=0)), 0, [width, height]).astype(int)
    if x1 - x0 < 1 or y1 - y0 < 1:
        raise InputError(f"the page's region {region} lies outside the {width}×{height} capture")
    quad = (points - [x0, y0]).astype(np.float32) if len(points) == 4 else None
    return image[y0:y1, x0:x1].copy(), quad
