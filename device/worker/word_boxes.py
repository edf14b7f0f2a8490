"""A page's OCR word boxes as a stored blob (compact JSON): written by the worker, read by the PDF builder.

The page row's `hocr_sha256` points to this blob. It is JSON rather than hOCR because the
box only ever reads it back into a text layer and the web UI: a quarter of the size, and no
HTML parser on the way back. Layout (all boxes x0, y0, x1, y1 in OCR-image pixels, y down):

    {"format": "sohoa-words/1", "width": W, "height": H, "dpi": 300,
     "engine": "tesseract 5.5.1", "languages": "vie+eng",
     "blocks": [[x0, y0, x1, y1], …],
     "lines": [{"bbox": [x0, y0, x1, y1], "block": 0, "words": [0, 1, 2]}, …],
     "words": [["Quyết", x0, y0, x1, y1, 91.5], …]}   # text, box, confidence 0–100

Lines are in reading order; a line's `words` index into `words`.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from device.archive.pdf import PdfPage, PdfWord
from device.errors import IntegrityError

if TYPE_CHECKING:  # importing the engine loads Tesseract
    from device.ocr.engine import OcrResult

log = logging.getLogger(__name__)

FORMAT = "sohoa-words/1"


def encode(result: OcrResult, dpi: float) -> bytes:
    """The word boxes of one OCR result as UTF-8 JSON bytes (NFC text, as OCR gave it)."""
    data = {
        "format": FORMAT, "width": result.width, "height": result.height, "dpi": round(dpi, 2),
        "engine": f"{result.engine} {result.engine_version}", "languages": result.languages,
        "blocks": [list(box) for box in result.blocks],
        "lines": [{"bbox": list(line.bbox), "block": line.block, "words": list(line.words)}
                  for line in result.lines],
        "words": [[word.text, *word.bbox, word.confidence] for word in result.words],
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode(data: bytes) -> dict[str, Any]:
    """The stored word boxes; IntegrityError when they are not this format."""
    try:
        boxes = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntegrityError(f"stored word boxes are not JSON: {exc}") from None
    if not isinstance(boxes, dict) or boxes.get("format") != FORMAT:
        raise IntegrityError("stored word boxes are not in the sohoa-words/1 format")
    return boxes


def pdf_page(master: bytes | Any, dpi: float, data: bytes) -> PdfPage:
    """A PDF page from a master (bytes or a file) and its stored word boxes."""
    boxes = decode(data)
    words = boxes["words"]
    lines = tuple(
        tuple(PdfWord(words[i][0], tuple(int(v) for v in words[i][1:5])) for i in line["words"])
        for line in boxes["lines"]
    )
    return PdfPage(master, dpi, lines, (int(boxes["width"]), int(boxes["height"])))
