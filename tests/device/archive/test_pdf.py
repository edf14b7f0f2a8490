"""Tests of the PDF/A-2b writer: structure, identification, and the invisible Vietnamese text layer."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw, ImageFont

from device.archive.pdf import PdfMetadata, PdfPage, PdfWord, write_pdfa
from device.errors import InputError, StorageError

TINOS = Path("/usr/share/fonts/truetype/croscore/Tinos-Regular.ttf")
LINES = [
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
    "Quyết định về việc đổi mới, phát triển Ủy ban nhân dân xã Đắk Lắk",
]
METADATA = PdfMetadata(
    title="Quyết định số 12/QĐ-UBND",
    identifier="H49.64.33.2001.160.1",
    creator="Ủy ban nhân dân xã Hòa Phú",
    subject="Về việc thành lập tổ số hóa",
    created=datetime(2025, 9, 19, 8, 30, tzinfo=timezone.utc),
)


def run(argv: list[str]) -> str:
    """A poppler/fido tool's stdout; skips when the tool is not installed."""
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} is not installed")
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True).stdout


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def render_page(lines: list[str], dpi: int = 200) -> PdfPage:
    """A small colour page with `lines` in Tinos, and word boxes measured from the layout."""
    if not TINOS.is_file():
        pytest.skip("fonts-croscore (Tinos) is not installed")
    face = ImageFont.truetype(str(TINOS), round(14 * dpi / 72))
    picture = Image.new("RGB", (1600, 120 + 80 * len(lines)), (250, 246, 235))
    draw = ImageDraw.Draw(picture)
    rows = []
    for row, line in enumerate(lines):
        x, y, words = 80, 60 + 80 * row, []
        for word in line.split():
            box = draw.textbbox((x, y), word, font=face)
            draw.text((x, y), word, font=face, fill=(20, 20, 60))
            words.append(PdfWord(word, (box[0], box[1], box[2], box[3])))
            x = box[2] + round(face.getlength(" "))
        rows.append(tuple(words))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=85)
    return PdfPage(buffer.getvalue(), dpi, tuple(rows))


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[PdfPage]]:
    pages = [render_page(LINES), render_page(["Trang thứ hai: tiếng Việt có dấu"], dpi=300)]
    out = tmp_path_factory.mktemp("pdf") / "H49.64.33.2001.160.1.pdf"
    write_pdfa(pages, out, METADATA)
    return out, pages


def test_vietnamese_text_layer_round_trips_through_pdftotext(written) -> None:
    out, _ = written
    first = run(["pdftotext", "-raw", "-enc", "UTF-8", "-f", "1", "-l", "1", str(out), "-"])
    assert first.splitlines()[: len(LINES)] == LINES
    second = run(["pdftotext", "-raw", "-enc", "UTF-8", "-f", "2", "-l", "2", str(out), "-"])
    assert collapse(second) == "Trang thứ hai: tiếng Việt có dấu"


def test_text_is_invisible_and_placed_over_the_words(written) -> None:
    out, pages = written
    with pikepdf.open(out) as pdf:
        ops = pikepdf.parse_content_stream(pdf.pages[0])
        assert [list(i.operands) for i in ops if str(i.operator) == "Tr"] == [[3]]
        first_word_x = [float(i.operands[4]) for i in ops if str(i.operator) == "Tm"][0]
    assert first_word_x == pytest.approx(pages[0].lines[0][0].bbox[0] * 72 / 200, abs=0.01)


def test_header_version_id_and_no_encryption_or_javascript(written) -> None:
    out, _ = written
    assert out.read_bytes()[:9] == b"%PDF-1.7\n"
    with pikepdf.open(out) as pdf:
        assert not pdf.is_encrypted
        assert len(pdf.trailer.ID) == 2
        assert "/OpenAction" not in pdf.Root and "/Names" not in pdf.Root and "/AA" not in pdf.Root
        assert b"/JavaScript" not in out.read_bytes() and b"/JS" not in out.read_bytes()


def test_xmp_identifies_pdfa_2b_and_matches_info(written) -> None:
    out, _ = written
    with pikepdf.open(out) as pdf:
        meta = pdf.open_metadata()
        assert meta.pdfa_status == "2B"
        assert meta["dc:title"] == METADATA.title
        assert meta["dc:identifier"] == METADATA.identifier
        assert pdf.docinfo.Title == METADATA.title and pdf.docinfo.Author == METADATA.creator
        assert meta["xmp:CreateDate"].startswith("2025-09-19T08:30:00")
        assert "/Filter" not in pdf.Root.Metadata  # PDF/A: the XMP stays readable as plain bytes


def test_srgb_output_intent(written) -> None:
    out, _ = written
    with pikepdf.open(out) as pdf:
        (intent,) = pdf.Root.OutputIntents
        assert intent.S == pikepdf.Name.GTS_PDFA1
        profile = intent.DestOutputProfile
        assert profile.N == 3
        data = profile.read_bytes()
        assert data[36:40] == b"acsp" and data[16:20] == b"RGB "


def test_fonts_are_embedded_with_tounicode(written) -> None:
    out, _ = written
    with pikepdf.open(out) as pdf:
        for page in pdf.pages:
            for _, font in page.Resources.Font.items():
                assert "/ToUnicode" in font
                for descendant in font.DescendantFonts:
                    assert "/FontFile2" in descendant.FontDescriptor
    listing = run(["pdffonts", str(out)]).splitlines()[2:]
    assert listing and all(re.search(r"\byes\s+no\s+yes\b", row) for row in listing)


def test_jpeg_masters_are_embedded_byte_for_byte_at_their_size(written) -> None:
    out, pages = written
    with pikepdf.open(out) as pdf:
        for page, source in zip(pdf.pages, pages):
            (image,) = page.Resources.XObject.values()
            assert image.Filter == pikepdf.Name.DCTDecode
            assert image.read_raw_bytes() == source.jpeg
            width, height = Image.open(io.BytesIO(source.jpeg)).size
            assert [float(v) for v in page.MediaBox] == pytest.approx(
                [0, 0, width * 72 / source.dpi, height * 72 / source.dpi])


def test_fido_identifies_pdfa_2b(written) -> None:
    """PRONOM: fmt/477 is PDF/A-2b (fmt/476 is PDF/A-2a, fmt/276 plain PDF 1.7)."""
    out, _ = written
    fido = Path(sys.executable).with_name("fido")
    if not fido.exists():
        pytest.skip("opf-fido is not installed")
    line = run([str(fido), "-q", "-nocontainer", str(out)]).strip().splitlines()[-1]
    assert line.startswith("OK,") and ",fmt/477," in line and "PDF/A-2B" in line


def test_ocr_boxes_from_a_smaller_image_are_scaled(tmp_path: Path) -> None:
    page = render_page(["Hạnh phúc"])
    half = tuple(tuple(PdfWord(w.text, tuple(v // 2 for v in w.bbox)) for w in line) for line in page.lines)
    size = Image.open(io.BytesIO(page.jpeg)).size
    write_pdfa([PdfPage(page.jpeg, 200, half, (size[0] // 2, size[1] // 2))], tmp_path / "a.pdf", METADATA)
    with pikepdf.open(tmp_path / "a.pdf") as pdf:
        ops = pikepdf.parse_content_stream(pdf.pages[0])
        x = [float(i.operands[4]) for i in ops if str(i.operator) == "Tm"][0]
    assert x == pytest.approx(page.lines[0][0].bbox[0] * 72 / 200, abs=0.5)


def test_page_without_words_still_makes_a_valid_file(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.full((300, 200, 3), 240, np.uint8)).save(buffer, "JPEG")
    write_pdfa([PdfPage(buffer.getvalue(), 200)], tmp_path / "blank.pdf", METADATA)
    with pikepdf.open(tmp_path / "blank.pdf") as pdf:
        assert len(pdf.pages) == 1 and pdf.open_metadata().pdfa_status == "2B"


def test_bad_input_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    png = io.BytesIO()
    Image.new("RGB", (50, 50)).save(png, "PNG")
    cmyk = io.BytesIO()
    Image.new("CMYK", (50, 50)).save(cmyk, "JPEG")
    for pages in ([], [PdfPage(png.getvalue(), 200)], [PdfPage(cmyk.getvalue(), 200)], [PdfPage(b"junk", 200)]):
        with pytest.raises(InputError):
            write_pdfa(pages, tmp_path / "x.pdf", METADATA)
    assert list(tmp_path.iterdir()) == []


def test_write_is_atomic_and_failure_is_a_storage_error(tmp_path: Path, written) -> None:
    _, pages = written
    target = tmp_path / "doc.pdf"
    target.write_bytes(b"old")
    write_pdfa(pages[:1], target, METADATA)
    assert target.read_bytes().startswith(b"%PDF-1.7")
    assert [p.name for p in tmp_path.iterdir()] == ["doc.pdf"]  # no temp file left behind
    with pytest.raises(StorageError):
        write_pdfa(pages[:1], tmp_path / "missing-folder" / "doc.pdf", METADATA)


def test_pdftotext_gives_back_the_ocr_text(tmp_path: Path) -> None:
    """The whole chain: OCR of a master, its words into the PDF, pdftotext equals the OCR text."""
    from device.ocr.engine import OcrEngine

    page = render_page(LINES, dpi=200)
    grey = np.asarray(Image.open(io.BytesIO(page.jpeg)).convert("L"))
    with OcrEngine() as engine:
        result = engine.recognize(grey, dpi=200)
    assert result.words
    write_pdfa([PdfPage.from_ocr(page.jpeg, 200, result)], tmp_path / "ocr.pdf", METADATA)
    extracted = run(["pdftotext", "-raw", "-enc", "UTF-8", str(tmp_path / "ocr.pdf"), "-"])
    assert collapse(extracted) == collapse(result.text)
