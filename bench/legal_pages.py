"""Renders a legal text's first page as a flat 300 dpi administrative page, with ground truth.

The layout follows the standard header block of Vietnamese administrative documents: issuing
body (left) and national motto (right) as two columns, then `Số:` (left) and place/date
(right), a centred bold type and subject, then the body in 13 pt Times-metric type (Tinos).
The ground truth is the rendered text in visual line order (top to bottom, left to right
within a row), so the header rows interleave the two columns: that is how Tesseract's page
segmentation reads this block (it does not split it into columns), and how pdftotext shows it.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

DPI = 300
PAGE_PX = (2480, 3508)  # A4 at 300 dpi
MARGINS = {"left": 354, "right": 236, "top": 236, "bottom": 295}  # 30/20/20/25 mm
FONT_DIRS = (Path("/usr/share/fonts/truetype/croscore"), Path("/usr/share/fonts/truetype/liberation2"))
FONT_FILES = {
    "regular": ("Tinos-Regular.ttf", "LiberationSerif-Regular.ttf"),
    "bold": ("Tinos-Bold.ttf", "LiberationSerif-Bold.ttf"),
    "italic": ("Tinos-Italic.ttf", "LiberationSerif-Italic.ttf"),
}
_MOTTO_1 = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
_RULE = re.compile(r"\s*[-_]{3,}\s*")


@dataclass(frozen=True)
class Header:
    """The parsed header block and the body paragraphs of one legal text."""

    organ: str
    number: str
    date: str
    motto_2: str
    title: list[str]
    body: list[str]


def font(style: str, points: float) -> ImageFont.FreeTypeFont:
    """A Times-metric font at `points` for 300 dpi; Tinos first, Liberation Serif second."""
    for name in FONT_FILES[style]:
        for folder in FONT_DIRS:
            if (folder / name).is_file():
                return ImageFont.truetype(str(folder / name), round(points * DPI / 72))
    raise FileNotFoundError(f"no Times-metric {style} font (install fonts-croscore)")


def parse(text: str) -> Header:
    """Split the first lines into organ, number, date and motto; the rest is the body."""
    organ: list[str] = []
    number, date, motto_2 = "", "", "Độc lập - Tự do - Hạnh phúc"
    lines = text.splitlines()
    index = 0
    for index, line in enumerate(lines[:10]):
        parts = [p.strip() for p in _RULE.sub("\t", line).split("\t") if p.strip()]
        kinds = [_kind(p) for p in parts]
        # After the number, only the motto and the date still belong to the header block.
        if number and not all(k in ("motto", "date") for k in kinds):
            break
        for part, kind in zip(parts, kinds):
            if kind == "motto" and "VIỆT NAM" in part:
                motto_2 = part.split("VIỆT NAM", 1)[1].strip() or motto_2
            elif kind == "motto":
                motto_2 = part
            elif kind == "date":
                date = part
            elif kind == "number":
                number = part
            else:
                organ.append(part)
    else:
        index += 1
    rest = [line.strip() for line in lines[index:] if line.strip()]
    title_count = next(
        (i for i, line in enumerate(rest[:4]) if len(line) > 160 or line.startswith("Căn cứ")), 2
    )
    return Header(" ".join(organ), number, date, motto_2, rest[:title_count], rest[title_count:])


def _kind(part: str) -> str:
    if "CỘNG H" in part or part.startswith("Độc lập"):
        return "motto"
    if re.search(r"\bngày\b.*\btháng\b.*\bnăm\b", part):
        return "date"
    if re.match(r"^(\w+ )*[Ss]ố:?\s", part) and any(c.isdigit() for c in part):
        return "number"
    return "organ"


def wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy word wrap to `width` pixels."""
    out: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if current and face.getlength(trial) > width:
            out.append(current)
            current = word
        else:
            current = trial
    return out + ([current] if current else [])


class _Pen:
    """Draws centred or left-aligned lines and records each drawn line as ground truth."""

    def __init__(self) -> None:
        self.image = Image.new("L", PAGE_PX, 255)
        self.draw = ImageDraw.Draw(self.image)
        self.items: list[tuple[int, float, str]] = []  # (top y, left x, text)

    @property
    def truth(self) -> str:
        return "\n".join(text for _, _, text in sorted(self.items))

    def centred(self, line: str, face: ImageFont.FreeTypeFont, centre_x: int, y: int) -> int:
        width = face.getlength(line)
        self.draw.text((centre_x - width / 2, y), line, font=face, fill=0)
        self.items.append((y, centre_x - width / 2, line))
        return y + round(face.size * 1.25)

    def rule(self, centre_x: int, y: int, length: int) -> int:
        self.draw.line((centre_x - length // 2, y, centre_x + length // 2, y), fill=0, width=4)
        return y + 40


def render(text: str) -> tuple[Image.Image, str]:
    """The first page of `text` as a grey 300 dpi image, and its ground-truth text."""
    head = parse(text)
    pen = _Pen()
    inner = PAGE_PX[0] - MARGINS["left"] - MARGINS["right"]
    left_x = MARGINS["left"] + int(inner * 0.2)
    right_x = MARGINS["left"] + int(inner * 0.7)
    caps, plain, bold = font("bold", 12), font("regular", 13), font("bold", 13)
    y = MARGINS["top"]
    for line in wrap(head.organ, caps, int(inner * 0.38)):
        y = pen.centred(line, caps, left_x, y)
    y = pen.rule(left_x, y, 250)
    if head.number:
        y = pen.centred(head.number, plain, left_x, y + 20)
    y_left = y
    y = MARGINS["top"]
    y = pen.centred(_MOTTO_1, caps, right_x, y)
    y = pen.centred(head.motto_2, bold, right_x, y)
    y = pen.rule(right_x, y, 600)
    if head.date:
        y = pen.centred(head.date, font("italic", 13), right_x, y + 20)
    y = max(y, y_left) + 100
    title = font("bold", 14)
    for part in head.title:
        for line in wrap(part, title, int(inner * 0.85)):
            y = pen.centred(line, title, PAGE_PX[0] // 2, y)
    _body(pen, head.body, plain, y + 80, inner)
    return pen.image, pen.truth


def _body(pen: _Pen, paragraphs: list[str], face: ImageFont.FreeTypeFont, y: int, inner: int) -> None:
    """Left-aligned paragraphs with a first-line indent, until the bottom margin."""
    indent, step = 150, round(face.size * 1.3)
    bottom = PAGE_PX[1] - MARGINS["bottom"] - step
    for paragraph in paragraphs:
        lines = wrap(paragraph, face, inner - indent)
        first, rest = lines[0], " ".join(lines[1:])
        lines = [first] + wrap(rest, face, inner) if rest else [first]
        for number, line in enumerate(lines):
            if y > bottom:
                return
            x = MARGINS["left"] + (indent if number == 0 else 0)
            pen.draw.text((x, y), line, font=face, fill=0)
            pen.items.append((y, x, line))
            y += step
        y += 18


def degrade(picture: Image.Image, seed: int) -> Image.Image:
    """A camera-like copy at 200 dpi (the box's minimum): softer focus, a light gradient,
    sensor noise, JPEG at quality 75. Clean renders do not separate the models; this does."""
    import numpy as np

    rng = np.random.default_rng(seed)
    small = picture.resize((picture.width * 2 // 3, picture.height * 2 // 3), Image.Resampling.LANCZOS)
    grey = np.asarray(small.filter(ImageFilter.GaussianBlur(0.9)), dtype=np.float32)
    ramp = np.linspace(0.78, 1.0, grey.shape[1], dtype=np.float32)[None, :]  # light falls off to one side
    noisy = grey * ramp + rng.normal(0, 7, grey.shape).astype(np.float32)
    out = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    out.save(buffer, "JPEG", quality=75)
    return Image.open(buffer).convert("L")
