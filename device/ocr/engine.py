"""Vietnamese OCR of one page image through Tesseract (tesserocr): text, word boxes, provenance.

One `OcrEngine` per process: loading the models costs ~0.3 s, so the worker keeps it for the
life of the process and calls `recognize()` once per page. The result says which engine,
Tesseract version and model files (by SHA-256) produced it, so a page's text can be traced to
the exact model that read it.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

# Tesseract's LSTM uses OpenMP. With the default (one thread per core) it was 6.5x slower on a
# 2-core machine: the threads contend with each other and with the other workers' engines,
# and the box already runs one engine per core. OpenMP reads this variable once, when its
# runtime loads, so it must be set before tesserocr (and its libtesseract) is imported.
if "tesserocr" in sys.modules:  # pragma: no cover - depends on import order elsewhere
    logging.getLogger(__name__).warning(
        "tesserocr was imported before device.ocr.engine; OMP_THREAD_LIMIT=1 may not apply"
    )
os.environ["OMP_THREAD_LIMIT"] = "1"

import numpy as np  # noqa: E402
import tesserocr  # noqa: E402

from device.errors import ConfigError, InputError  # noqa: E402
from device.files import sha256_file  # noqa: E402

log = logging.getLogger(__name__)

_LEPTONICA_SEVERITY_NONE = 6  # leptonica's L_SEVERITY_NONE


def _quiet_leptonica() -> bool:
    """Silence Leptonica's messages on stderr. Tesseract's layout analysis makes it print
    "Error in boxClipToRectangle: box outside rectangle" for ordinary pages (two lines per
    page, harmless), which would fill the journal; real failures still reach us through
    Tesseract's API. True when the loaded Leptonica was found and told so."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if "lept" in line.rsplit("/", 1)[-1]}
    except OSError:
        return False
    for path in sorted(paths):
        try:
            ctypes.CDLL(path).setMsgSeverity(_LEPTONICA_SEVERITY_NONE)
        except (OSError, AttributeError):
            continue
        return True
    return False


_quiet_leptonica()

#: The models shipped with the package; tessdata/SOURCES.md says where they come from and
#: why these (measured with bench/eval_ocr.py).
DEFAULT_TESSDATA_DIR = Path(__file__).resolve().parent / "tessdata"
#: eng as the second language: Tesseract retries low-confidence words with it, which cut the
#: error on pages with Latin code, names and URLs by 31% for ~15% more time on plain pages.
DEFAULT_LANGUAGES = "vie+eng"
#: psm 3 (automatic segmentation) tied psm 4 and beat psm 6 and 11 on both page sets. On the
#: two-column header block it reads row by row (organ + motto, then Số + date), like psm 4.
DEFAULT_PSM = 3
MIN_TESSERACT = (5, 0)
#: Tesseract refuses images narrower or lower than this ("Image too small to scale").
_MIN_SIDE = 8

BBox = tuple[int, int, int, int]  # x0, y0, x1, y1 in image pixels, x1/y1 exclusive

@dataclass(frozen=True)
class OcrWord:
    """One recognized word, its box in image pixels and Tesseract's confidence (0-100)."""

    text: str
    bbox: BBox
    confidence: float
    block: int
    line: int

@dataclass(frozen=True)
class OcrLine:
    """One text line: its box and its words' indices into `OcrResult.words`."""

    bbox: BBox
    block: int
    words: tuple[int, ...]

@dataclass(frozen=True)
class OcrResult:
    """What the engine read on one page, and what read it."""

    text: str
    words: tuple[OcrWord, ...]
    lines: tuple[OcrLine, ...]
    blocks: tuple[BBox, ...]
    mean_confidence: float
    width: int
    height: int
    engine: str
    engine_version: str
    languages: str
    psm: int
    model_sha256: dict[str, str] = field(default_factory=dict)

def version() -> str:
    """The bundled Tesseract's version ("5.5.4"); raises ConfigError when it is too old."""
    banner = tesserocr.tesseract_version()  # "tesseract 5.5.4\n leptonica-1.87.0 ..."
    first = banner.splitlines()[0].split()
    number = first[1] if len(first) > 1 else ""
    try:
        parts = tuple(int(p) for p in number.lstrip("v").split(".")[:2])
    except ValueError as exc:
        raise ConfigError(f"cannot parse Tesseract version from {banner!r}") from exc
    if parts < MIN_TESSERACT:
        raise ConfigError(f"Tesseract {number} is too old; need >= 5.0 (LSTM models)")
    return number

def model_files(tessdata_dir: Path, languages: str) -> dict[str, Path]:
    """The traineddata file of each language in "vie+eng"; ConfigError if one is missing."""
    files: dict[str, Path] = {}
    for lang in languages.split("+"):
        path = Path(tessdata_dir) / f"{lang}.traineddata"
        if not path.is_file():
            raise ConfigError(
                f"OCR model {path.name} not found in {tessdata_dir}",
                message_vi=f"Không tìm thấy mô hình OCR {path.name}",
            )
        files[lang] = path
    return files

class OcrEngine:
    """A loaded Tesseract model set; not thread-safe, so keep one per process."""

    def __init__(
        self,
        tessdata_dir: Path = DEFAULT_TESSDATA_DIR,
        languages: str = DEFAULT_LANGUAGES,
        psm: int = DEFAULT_PSM,
        timeout_s: float = 120.0,
    ) -> None:
        if not 0 <= psm <= 13:
            raise ConfigError(f"page segmentation mode {psm} is not one of Tesseract's 0-13")
        self.engine_version = version()
        self.timeout_s = timeout_s
        self.languages = languages
        self.psm = psm
        files = model_files(tessdata_dir, languages)
        self.model_sha256 = {lang: sha256_file(path) for lang, path in files.items()}
        try:
            # LSTM only: the legacy engine is absent from the "fast"/"best_int" models.
            self._api = tesserocr.PyTessBaseAPI(
                path=str(tessdata_dir),
                lang=languages,
                psm=int(psm),
                oem=tesserocr.OEM.LSTM_ONLY,
            )
        except RuntimeError as exc:
            raise ConfigError(f"Tesseract could not load {languages} from {tessdata_dir}: {exc}") from exc
        log.info(
            "OCR engine ready: tesseract %s, %s, psm %d, models %s",
            self.engine_version, languages, psm,
            {k: v[:12] for k, v in self.model_sha256.items()},
        )

    def close(self) -> None:
        """Free the models (the worker calls this on shutdown)."""
        self._api.End()

    def __enter__(self) -> OcrEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def recognize(self, image: np.ndarray, dpi: int = 300) -> OcrResult:
        """Read one page: 8-bit grey (H, W) or BGR/BGRA (H, W, 3|4) as OpenCV gives it."""
        grey = _as_grey(image)
        height, width = grey.shape
        if min(height, width) < _MIN_SIDE or _is_flat(grey):
            # Nothing to read, and Tesseract would print errors or invent noise on it.
            return self._result("", (), (), (), width, height)
        self._api.SetImageBytes(np.ascontiguousarray(grey).tobytes(), width, height, 1, width)
        self._api.SetSourceResolution(int(dpi))
        try:
            # A deadline, so one pathological page (a photo of gravel) cannot stall a worker.
            if not self._api.Recognize(int(self.timeout_s * 1000)):
                log.warning("OCR gave up on a %dx%d image (error or %.0f s deadline)",
                            width, height, self.timeout_s)
                return self._result("", (), (), (), width, height)
            words, lines, blocks = _collect(self._api.GetIterator())
        finally:
            self._api.Clear()
        return self._result(_page_text(words, lines, blocks), words, lines, blocks, width, height)

    def _result(
        self,
        text: str,
        words: tuple[OcrWord, ...],
        lines: tuple[OcrLine, ...],
        blocks: tuple[BBox, ...],
        width: int,
        height: int,
    ) -> OcrResult:
        # Mean over words weighted by length, so one confident "1" does not outweigh a line.
        weight = sum(len(w.text) for w in words)
        mean = sum(w.confidence * len(w.text) for w in words) / weight if weight else 0.0
        return OcrResult(
            text=text, words=words, lines=lines, blocks=blocks,
            mean_confidence=round(mean, 2), width=width, height=height,
            engine="tesseract", engine_version=self.engine_version,
            languages=self.languages, psm=self.psm, model_sha256=dict(self.model_sha256),
        )

def _as_grey(image: np.ndarray) -> np.ndarray:
    """An 8-bit single-channel view of the page; InputError for what cannot be a page."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise InputError(
            "OCR needs an 8-bit image array",
            message_vi="OCR cần ảnh 8 bit",
        )
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] in (3, 4):
        # Rec. 601 luma on BGR(A), the same weights as cv2.COLOR_BGR2GRAY.
        b, g, r = (image[:, :, i].astype(np.float32) for i in range(3))
        return np.clip(0.114 * b + 0.587 * g + 0.299 * r + 0.5, 0, 255).astype(np.uint8)
    raise InputError(
        f"OCR cannot read an image of shape {image.shape}",
        message_vi="Ảnh không đúng định dạng để nhận dạng chữ",
    )

def _is_flat(grey: np.ndarray) -> bool:
    """True when the image has no contrast at all: all black, all white, uniform grey.
    Min/max, not percentiles: one short line on an A4 page is far below 1% of its pixels."""
    return int(grey.max()) - int(grey.min()) < 16

def _box(raw: tuple[int, int, int, int] | None) -> BBox:
    return (0, 0, 0, 0) if raw is None else (int(raw[0]), int(raw[1]), int(raw[2]), int(raw[3]))

def _collect(
    iterator: tesserocr.PyResultIterator | None,
) -> tuple[tuple[OcrWord, ...], tuple[OcrLine, ...], tuple[BBox, ...]]:
    """Walk Tesseract's result word by word, in its reading order, grouping lines and blocks."""
    words: list[OcrWord] = []
    lines: list[tuple[BBox, int, list[int]]] = []
    blocks: list[BBox] = []
    if iterator is None:
        return (), (), ()
    word_level, line_level, block_level = tesserocr.RIL.WORD, tesserocr.RIL.TEXTLINE, tesserocr.RIL.BLOCK
    new_block = new_line = True
    for item in tesserocr.iterate_level(iterator, word_level):
        new_block = new_block or item.IsAtBeginningOf(block_level)
        new_line = new_line or new_block or item.IsAtBeginningOf(line_level)
        text = unicodedata.normalize("NFC", item.GetUTF8Text(word_level) or "").strip()
        if not text:
            continue  # an empty word (a speck) must not open an empty line or block
        if new_block:
            blocks.append(_box(item.BoundingBox(block_level)))
        if new_line:
            lines.append((_box(item.BoundingBox(line_level)), len(blocks) - 1, []))
        new_block = new_line = False
        lines[-1][2].append(len(words))
        words.append(
            OcrWord(
                text=text,
                bbox=_box(item.BoundingBox(word_level)),
                confidence=round(float(item.Confidence(word_level)), 2),
                block=len(blocks) - 1,
                line=len(lines) - 1,
            )
        )
    kept = tuple(OcrLine(bbox, block, tuple(ids)) for bbox, block, ids in lines)
    return tuple(words), kept, tuple(blocks)

def _page_text(
    words: tuple[OcrWord, ...], lines: tuple[OcrLine, ...], blocks: tuple[BBox, ...]
) -> str:
    """Lines joined by newlines, blocks separated by a blank line, in reading order."""
    out: list[str] = []
    previous_block = None
    for line in lines:
        if previous_block is not None and line.block != previous_block:
            out.append("")
        out.append(" ".join(words[i].text for i in line.words))
        previous_block = line.block
    return "\n".join(out)
