"""Typesetting of Vietnamese administrative pages (Nghị định 30/2020 layout) into flat images."""

from __future__ import annotations

import functools
import logging
import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from device.capture.camera import CaptureError
from device.capture.doc_header import DocumentHeader, parse_document

log = logging.getLogger(__name__)

BBox = tuple[int, int, int, int]  # x0, y0, x1, y1 in page pixels, x1/y1 exclusive

A4_MM = (210.0, 297.0)
# Nghị định 30/2020, Phụ lục I: margins top/bottom 20-25 mm, left 30-35 mm, right 15-20 mm.
MARGINS_MM = {"top": 20.0, "bottom": 20.0, "left": 30.0, "right": 15.0}
FONT_FILES = {
    "regular": ("Tinos-Regular.ttf", "LiberationSerif-Regular.ttf"),
    "bold": ("Tinos-Bold.ttf", "LiberationSerif-Bold.ttf"),
    "italic": ("Tinos-Italic.ttf", "LiberationSerif-Italic.ttf"),
}
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")
_VIETNAMESE_PROBE = "ệỗữĐặ"


class FontNotFoundError(CaptureError):
    """No Times-metric font with Vietnamese coverage is installed."""


@dataclass(frozen=True)
class RenderedPage:
    """One typeset page: pixels (grey, white paper 255) and the ground truth placed on it."""

    image: np.ndarray
    dpi: int
    text: str  # the lines drawn on this page, in reading order, joined with "\n", NFC
    lines: list[tuple[str, BBox]]
    words: list[tuple[str, BBox]]
    page_number: int  # 1-based within its document


def _covers_vietnamese(font: ImageFont.FreeTypeFont) -> bool:
    # A missing glyph renders as the .notdef box, identical for every missing code point.
    def ink(ch: str) -> bytes:
        tile = Image.new("L", (48, 48), 0)
        ImageDraw.Draw(tile).text((8, 8), ch, font=font, fill=255)
        return tile.tobytes()

    notdef = ink("\U000f0000")
    return all(ink(ch) != notdef for ch in _VIETNAMESE_PROBE)


@functools.lru_cache(maxsize=8)
def find_font_file(style: str = "regular") -> Path:
    """Return a Times-metric font file (Tinos, else Liberation Serif 2) covering Vietnamese."""
    names = FONT_FILES[style]
    found: dict[str, list[Path]] = {name: [] for name in names}
    for base in FONT_DIRS:
        root = Path(os.path.expanduser(base))
        if not root.is_dir():
            continue
        for dirpath, _dirs, files in os.walk(root):
            for name in names:
                if name in files:
                    found[name].append(Path(dirpath) / name)
    for name in names:
        for path in sorted(found[name]):
            if _covers_vietnamese(ImageFont.truetype(str(path), 20)):
                return path
            log.info("font %s lacks Vietnamese glyphs; skipped", path)
    raise FontNotFoundError(
        f"No {style} Times-metric font with Vietnamese glyphs found (looked for "
        f"{' or '.join(names)} under {', '.join(FONT_DIRS)}). Install the Debian package "
        "fonts-croscore (Tinos) or fonts-liberation2 (not fonts-liberation 1.x)."
    )


class GlyphFont:
    """A font at one pixel size that draws by pasting cached glyph bitmaps (fast, exact)."""

    def __init__(self, style: str, size_px: int) -> None:
        self.style = style
        self.size_px = size_px
        self._font = ImageFont.truetype(
            str(find_font_file(style)), size_px, layout_engine=ImageFont.Layout.BASIC
        )
        self._glyphs: dict[str, tuple[np.ndarray, int, int, float]] = {}

    def _glyph(self, ch: str) -> tuple[np.ndarray, int, int, float]:
        cached = self._glyphs.get(ch)
        if cached is None:
            x0, y0, x1, y1 = self._font.getbbox(ch, anchor="ls")
            tile = Image.new("L", (max(1, x1 - x0), max(1, y1 - y0)), 255)
            ImageDraw.Draw(tile).text((-x0, -y0), ch, font=self._font, fill=0, anchor="ls")
            cached = (np.asarray(tile), x0, y0, self._font.getlength(ch))
            self._glyphs[ch] = cached
        return cached

    def width(self, word: str) -> float:
        return sum(self._glyph(ch)[3] for ch in word)

    def draw(self, page: np.ndarray, x: float, baseline: int, word: str) -> BBox | None:
        """Paste ``word`` with its baseline at ``baseline``; return the inked box or None."""
        box: list[int] | None = None
        for ch in word:
            tile, gx, gy, advance = self._glyph(ch)
            if ch.isspace():
                x += advance
                continue
            left, top = int(round(x)) + gx, baseline + gy
            h, w = tile.shape
            region = page[top : top + h, left : left + w]
            np.minimum(region, tile[: region.shape[0], : region.shape[1]], out=region)
            if box is None:
                box = [left, top, left + w, top + h]
            else:
                box = [min(box[0], left), min(box[1], top), max(box[2], left + w), max(box[3], top + h)]
            x += advance
        return None if box is None else (box[0], box[1], box[2], box[3])


@functools.lru_cache(maxsize=32)
def _font(style: str, size_pt: float, dpi: int) -> GlyphFont:
    return GlyphFont(style, int(round(size_pt * dpi / 72.0)))


@dataclass(frozen=True)
class _Line:
    """One laid-out line: its words, font, alignment and the horizontal span it lives in."""

    words: tuple[str, ...]
    font: GlyphFont
    align: str  # left, center, justify
    x0: float
    x1: float
    indent: float = 0.0


class _PageWriter:
    """Draws lines top-down on one page and records the ground truth of what it drew."""

    def __init__(self, dpi: int, number: int) -> None:
        self.dpi = dpi
        self.number = number
        w, h = (int(round(mm / 25.4 * dpi)) for mm in A4_MM)
        self.image = np.full((h, w), 255, dtype=np.uint8)
        self.lines: list[tuple[str, BBox]] = []
        self.words: list[tuple[str, BBox]] = []

    def px(self, mm: float) -> float:
        return mm / 25.4 * self.dpi

    def draw_line(self, line: _Line, baseline: int) -> None:
        font, words = line.font, line.words
        widths = [font.width(w) for w in words]
        space = font.width(" ")
        span = line.x1 - line.x0 - line.indent
        natural = sum(widths) + space * (len(words) - 1)
        x = line.x0 + line.indent
        gap = space
        if line.align == "center":
            x += max(0.0, (span - natural) / 2)
        elif line.align == "justify" and len(words) > 1:
            gap = space + max(0.0, span - natural) / (len(words) - 1)
        boxes = []
        for word, width in zip(words, widths):
            box = font.draw(self.image, x, baseline, word)
            if box is not None:
                self.words.append((word, box))
                boxes.append(box)
            x += width + gap
        if boxes:
            union = (min(b[0] for b in boxes), min(b[1] for b in boxes),
                     max(b[2] for b in boxes), max(b[3] for b in boxes))
            self.lines.append((" ".join(words), union))

    def rule(self, cx: float, y: int, length_mm: float) -> None:
        """A short horizontal rule under a heading (a decoration, not text)."""
        half = int(self.px(length_mm) / 2)
        thick = max(1, int(round(self.px(0.25))))
        self.image[y : y + thick, int(cx) - half : int(cx) + half] = 0

    def finish(self) -> RenderedPage:
        text = unicodedata.normalize("NFC", "\n".join(t for t, _ in self.lines))
        return RenderedPage(self.image, self.dpi, text, self.lines, self.words, self.number)


def wrap(words: list[str], font: GlyphFont, width: float, indent: float = 0.0) -> list[list[str]]:
    """Greedy line breaking: as many words per line as fit in ``width`` pixels."""
    lines: list[list[str]] = []
    current: list[str] = []
    used = indent
    space = font.width(" ")
    for word in words:
        w = font.width(word)
        if current and used + space + w > width:
            lines.append(current)
            current, used = [word], w
        else:
            used += (space if current else 0.0) + w
            current.append(word)
    if current:
        lines.append(current)
    return lines


def _block(text: str, font: GlyphFont, x0: float, x1: float, align: str,
           indent: float = 0.0) -> list[_Line]:
    """Wrap one paragraph into lines; justified paragraphs end with a left-aligned line."""
    rows = wrap(text.split(), font, x1 - x0, indent)
    out = []
    for i, words in enumerate(rows):
        last = i == len(rows) - 1
        line_align = "left" if (align == "justify" and last) else align
        out.append(_Line(tuple(words), font, line_align, x0, x1, indent if i == 0 else 0.0))
    return out


def _header_rows(header: DocumentHeader, page: _PageWriter, dpi: int) -> tuple[list[list[_Line]], list[_Line]]:
    """The two-column header: rows of issuing body | national motto, then number | place, date."""
    left0, split, right1 = _columns(page)
    bold, regular, italic = _font("bold", 13, dpi), _font("regular", 13, dpi), _font("italic", 14, dpi)
    left_lines = [ln for issuer in header.issuer for ln in _block(issuer, bold, left0, split, "center")]
    right_lines = [
        *_block(header.motto[0], _font("bold", 12, dpi), split, right1, "center"),
        *_block(header.motto[1], bold, split, right1, "center"),
    ]
    rows: list[list[_Line]] = []
    for i in range(max(len(left_lines), len(right_lines))):
        rows.append([ln[i] for ln in (left_lines, right_lines) if i < len(ln)])
    second = [
        *(_block(header.number, regular, left0, split, "center") if header.number else []),
        *(_block(header.place_date, italic, split, right1, "center") if header.place_date else []),
    ]
    return rows, second


def _columns(page: _PageWriter) -> tuple[float, float, float]:
    """Left edge, column split and right edge of the header table (it reaches into the margins)."""
    return (page.px(MARGINS_MM["left"] - 12), page.px(MARGINS_MM["left"] + 62),
            page.px(A4_MM[0] - MARGINS_MM["right"] + 5))


def _draw_header(header: DocumentHeader, page: _PageWriter, dpi: int, pitch: int) -> int:
    """Draw the header table on the first page; return the next free baseline."""
    left0, split, right1 = _columns(page)
    rows, second = _header_rows(header, page, dpi)
    baseline = int(page.px(MARGINS_MM["top"])) + pitch
    for row in rows:
        for line in row:
            page.draw_line(line, baseline)
        baseline += pitch
    rule_y = baseline - pitch + int(page.px(2.5))
    if header.issuer:
        page.rule((left0 + split) / 2, rule_y, 22)
    page.rule((split + right1) / 2, rule_y, 58)
    baseline += int(page.px(3))
    for line in second:
        page.draw_line(line, baseline)
    return baseline + (pitch if second else 0)


def _body_lines(header: DocumentHeader, body: list[str], page: _PageWriter, dpi: int) -> list[tuple[list[_Line], float]]:
    """Title block and body paragraphs as (lines, space before in pixels), in order."""
    x0 = page.px(MARGINS_MM["left"])
    x1 = page.px(A4_MM[0] - MARGINS_MM["right"])
    indent = page.px(12.7)
    para_space = 6 / 72 * dpi
    title = _font("bold", 14, dpi)
    blocks: list[tuple[list[_Line], float]] = []
    if header.doc_type:
        blocks.append((_block(header.doc_type, title, x0, x1, "center"), 18 / 72 * dpi))
    if header.subject:
        blocks.append((_block(header.subject, title, x0 + indent, x1 - indent, "center"), 0.0))
    regular, bold = _font("regular", 13, dpi), _font("bold", 13, dpi)
    first_space = 24 / 72 * dpi
    for para in body:
        kind = classify_paragraph(para)
        if kind == "heading":
            lines = _block(para, bold, x0, x1, "center")
        elif kind == "article":
            lines = _block(para, bold, x0, x1, "justify", indent)
        else:
            lines = _block(para, regular, x0, x1, "justify", indent)
        blocks.append((lines, first_space if first_space else para_space))
        first_space = 0.0
    return blocks


def classify_paragraph(para: str) -> str:
    """heading (Chương/Mục/Phần or all capitals), article (Điều N.) or text."""
    head = para.split(maxsplit=1)[0] if para.strip() else ""
    if head in {"Chương", "Mục", "Phần", "CHƯƠNG", "MỤC", "PHẦN"} and len(para) < 40:
        return "heading"
    letters = [c for c in para if c.isalpha()]
    if len(letters) >= 4 and all(c.isupper() for c in letters) and len(para) < 500:
        return "heading"
    if head == "Điều":
        return "article"
    return "text"


def render_document(text: str, dpi: int = 300) -> list[RenderedPage]:
    """Typeset a document (header block then body) onto as many A4 pages as it needs."""
    header, body = parse_document(unicodedata.normalize("NFC", text))
    pages: list[RenderedPage] = []
    page = _PageWriter(dpi, 1)
    pitch = int(round(13 * 1.2 / 72 * dpi))
    bottom = page.image.shape[0] - page.px(MARGINS_MM["bottom"])
    baseline = _draw_header(header, page, dpi, pitch)
    for lines, space_before in _body_lines(header, body, page, dpi):
        baseline += int(space_before)
        for line in lines:
            if baseline > bottom:
                pages.append(page.finish())
                page = _PageWriter(dpi, page.number + 1)
                number_line = _block(str(page.number), _font("regular", 13, dpi), 0, page.image.shape[1], "center")
                page.draw_line(number_line[0], int(page.px(12)))
                baseline = int(page.px(MARGINS_MM["top"])) + pitch
            page.draw_line(line, baseline)
            baseline += pitch
    pages.append(page.finish())
    log.debug("rendered %d page(s) at %d dpi", len(pages), dpi)
    return pages


def render_page(text: str, dpi: int = 300) -> RenderedPage:
    """The first page of ``text``: the header page, as a camera would usually see it."""
    return render_document(text, dpi)[0]


def render_blank(dpi: int = 300) -> RenderedPage:
    """A blank A4 page (no ink, empty ground truth)."""
    return _PageWriter(dpi, 1).finish()


def load_texts(paths: Iterable[Path]) -> list[tuple[str, str]]:
    """Read UTF-8 texts as (name, NFC text) pairs, skipping empty files."""
    out = []
    for path in paths:
        body = unicodedata.normalize("NFC", Path(path).read_text(encoding="utf-8"))
        if body.strip():
            out.append((Path(path).stem, body))
    return out
