"""Writes one PDF/A-2b file per document: JPEG page masters as they are, with invisible OCR text.

Structure of the file (what `docs/pdfa.md` lists as checked):
- PDF 1.7, no encryption, no JavaScript, a trailer /ID, XMP metadata with pdfaid part 2 / B
  kept in step with the document information dictionary;
- an sRGB OutputIntent (`resources/sRGB.icc`, from Debian's icc-profiles-free);
- per page: the JPEG embedded with /DCTDecode, byte for byte (never re-encoded), scaled to the
  page's physical size from its dpi; then the OCR words in text render mode 3 (invisible),
  each stretched to its box, in OCR reading order;
- one embedded font, Tesseract's "GlyphLessFont" (`resources/pdf.ttf`): a single blank glyph
  that every character code maps to, with Identity-H encoding and a ToUnicode CMap in which
  code = Unicode code point. So any Vietnamese text (NFC, all in the BMP) can be searched,
  selected and copied, with a font of 500 bytes instead of a 400 kB subset of a real face.
"""

from __future__ import annotations

import io
import logging
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pikepdf
from pikepdf import ContentStreamInstruction as Op
from pikepdf import Dictionary, Name, Operator
from PIL import Image

from device.errors import InputError, StorageError
from device.files import atomic_output

if TYPE_CHECKING:  # the OCR result type only; importing the engine loads Tesseract
    from device.ocr.engine import OcrResult

log = logging.getLogger(__name__)

RESOURCES = Path(__file__).resolve().parent / "resources"
FONT_NAME = Name("/GlyphLessFont")
#: Every glyph of the glyphless font is half an em wide (its hmtx and our /DW agree).
CHAR_WIDTH_EM = 0.5
_SRGB_ID = "sRGB IEC61966-2.1"
# The PDF/A identification as attributes of an rdf:Description that declares the pdfaid
# namespace itself: the form PRONOM's signature for fmt/477 (PDF/A-2b) matches and the one
# Ghostscript and OCRmyPDF write. pikepdf would write `<pdfaid:part xmlns:pdfaid=...>`
# elements, which DROID/fido then identify only as plain PDF 1.7 (fmt/276).
_XMP_SKELETON = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
    ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    '  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"'
    ' pdfaid:part="2" pdfaid:conformance="B"/>\n'
    ' </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end="w"?>'
).encode("utf-8")
BBox = tuple[int, int, int, int]


@dataclass(frozen=True)
class PdfWord:
    """One OCR word and its box (x0, y0, x1, y1) in the OCR image's pixels, y downwards."""

    text: str
    bbox: BBox


@dataclass(frozen=True)
class PdfPage:
    """A page: its JPEG colour master (bytes or a file), its dpi, and its OCR lines of words.

    `ocr_size` is the (width, height) of the image the OCR boxes refer to, when it differs
    from the JPEG's pixel size (OCR run on a scaled copy); boxes are then scaled to fit.
    """

    jpeg: bytes | Path
    dpi: float
    lines: Sequence[Sequence[PdfWord]] = ()
    ocr_size: tuple[int, int] | None = None

    @classmethod
    def from_ocr(cls, jpeg: bytes | Path, dpi: float, result: OcrResult) -> PdfPage:
        """A page from its master and the OCR result of (a possibly scaled copy of) it."""
        lines = tuple(
            tuple(PdfWord(result.words[i].text, result.words[i].bbox) for i in line.words)
            for line in result.lines
        )
        return cls(jpeg, dpi, lines, (result.width, result.height))


@dataclass(frozen=True)
class PdfMetadata:
    """Descriptive metadata written to XMP (and the info dictionary): TT05 document fields."""

    title: str
    identifier: str  # docId, e.g. H49.64.33.2001.160.1
    creator: str = ""  # organName: the issuing body
    subject: str = ""
    keywords: str = ""
    language: str = "vi"
    created: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    creator_tool: str = "SoHoa Box"


def write_pdfa(pages: Sequence[PdfPage], out_path: Path, metadata: PdfMetadata) -> None:
    """Write `pages` as one PDF/A-2b file at `out_path`, atomically (temp, fsync, rename)."""
    pdf = pdfa_document(pages, metadata)
    try:
        _save_atomic(pdf, Path(out_path))
    finally:
        pdf.close()
    log.info("wrote PDF/A-2b %s: %d pages, document %s", out_path, len(pages), metadata.identifier)


def pdfa_document(pages: Sequence[PdfPage], metadata: PdfMetadata) -> pikepdf.Pdf:
    """The PDF/A-2b of `pages`, in memory and not saved yet (the caller closes it): for a
    caller that adjusts it before its one save, instead of saving, reopening and saving again."""
    if not pages:
        raise InputError("a document needs at least one page", message_vi="Tài liệu chưa có trang nào")
    pdf = pikepdf.new()
    try:
        font = _glyphless_font(pdf)
        for number, page in enumerate(pages, start=1):
            _add_page(pdf, page, font, number)
        _add_output_intent(pdf)
        _set_metadata(pdf, metadata)
    except BaseException:
        pdf.close()
        raise
    return pdf


def _jpeg_bytes(source: bytes | Path) -> bytes:
    if isinstance(source, bytes):
        return source
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise StorageError(f"cannot read page master {source}: {exc}") from exc


def _jpeg_info(data: bytes, number: int) -> tuple[int, int, Name]:
    """Pixel size and PDF colour space of a JPEG, from its header (nothing is decoded)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, mode, size = image.format, image.mode, image.size
    except (OSError, Image.DecompressionBombError) as exc:
        raise InputError(f"page {number}: not a readable JPEG ({exc})",
                         message_vi=f"Trang {number}: ảnh JPEG hỏng") from exc
    # CMYK would need a CMYK OutputIntent; the box's masters are RGB (grey is also allowed).
    spaces = {"RGB": Name.DeviceRGB, "L": Name.DeviceGray}
    if kind != "JPEG" or mode not in spaces:
        raise InputError(f"page {number}: need an RGB or grey JPEG, got {kind} {mode}",
                         message_vi=f"Trang {number}: ảnh phải là JPEG màu RGB hoặc xám")
    return size[0], size[1], spaces[mode]


def _add_page(pdf: pikepdf.Pdf, page: PdfPage, font: Dictionary, number: int) -> None:
    """One page sized from pixels and dpi: the image, then the invisible words over it."""
    if not 10 <= page.dpi <= 4800:
        raise InputError(f"page {number}: implausible dpi {page.dpi}")
    data = _jpeg_bytes(page.jpeg)
    width_px, height_px, space = _jpeg_info(data, number)
    # The bytes are already DCT-encoded: stored as they are, never decoded or re-encoded.
    image = pikepdf.Stream(pdf, data, Type=Name.XObject, Subtype=Name.Image, Width=width_px,
                           Height=height_px, ColorSpace=space, BitsPerComponent=8,
                           Filter=Name.DCTDecode)
    scale = 72.0 / page.dpi  # pixels -> points
    width_pt, height_pt = width_px * scale, height_px * scale
    ops = [
        Op([], Operator("q")),
        Op([width_pt, 0, 0, height_pt, 0, 0], Operator("cm")),
        Op([Name.Im0], Operator("Do")),
        Op([], Operator("Q")),
    ]
    ocr_w, ocr_h = page.ocr_size or (width_px, height_px)
    ops += _text_ops(page.lines, width_pt / ocr_w, height_pt / ocr_h, height_pt)
    resources = Dictionary(XObject=Dictionary(Im0=image), Font=Dictionary(F0=font))
    pdf_page = pikepdf.Page(Dictionary(Type=Name.Page, MediaBox=[0, 0, width_pt, height_pt],
                                       Resources=resources))
    pdf.pages.append(pdf_page)
    pdf.pages[-1].Contents = _deflated(pdf, pikepdf.unparse_content_stream(ops))


def _deflated(pdf: pikepdf.Pdf, data: bytes) -> pikepdf.Stream:
    """A stream deflated as it is made, exactly as qpdf deflates an unfiltered stream when
    saving (zlib's default level), so a save writes it as it is: the bytes are the same
    whether the document is saved once or saved, reopened and saved again."""
    return pdf.make_stream(zlib.compress(data), Filter=Name.FlateDecode)


def _encode(text: str) -> bytes:
    """UTF-16BE code units = CIDs of the glyphless font; non-BMP characters are dropped."""
    try:
        data = text.encode("utf-16-be")
        if len(data) == 2 * len(text):  # the usual case: all in the BMP, no lone surrogate
            return data
    except UnicodeEncodeError:  # a lone surrogate
        pass
    kept = "".join(c for c in text if ord(c) <= 0xFFFF and not 0xD800 <= ord(c) <= 0xDFFF)
    return kept.encode("utf-16-be")


_TM, _TZ, _TJ = Operator("Tm"), Operator("Tz"), Operator("Tj")
_SPACE = " ".encode("utf-16-be")


def _text_ops(lines: Sequence[Sequence[PdfWord]], sx: float, sy: float, height_pt: float) -> list[Op]:
    """Invisible text, word by word: the line's height sets the size, each word is stretched
    (Tz) to reach the next word's start, its trailing space included, so extraction sees
    exactly one space between words and selection covers the word boxes."""
    ops = [Op([], Operator("BT")), Op([3], Operator("Tr"))]
    for line in lines:
        # Each word is encoded once (a page has hundreds; this loop is most of a PDF's cost).
        words = [(w, code) for w, code in ((w, _encode(w.text)) for w in line) if code]
        if not words:
            continue
        top = min(w.bbox[1] for w, _ in words)
        bottom = max(w.bbox[3] for w, _ in words)
        size = max((bottom - top) * sy, 1.0)
        baseline = round(height_pt - bottom * sy, 2)
        ops.append(Op([Name.F0, round(size, 2)], Operator("Tf")))
        for i, (word, code) in enumerate(words):
            last = i == len(words) - 1
            data = code if last else code + _SPACE
            right = word.bbox[2] if last else max(words[i + 1][0].bbox[0], word.bbox[2])
            target = max(right - word.bbox[0], 1) * sx
            natural = len(data) / 2 * size * CHAR_WIDTH_EM
            ops.append(Op([1, 0, 0, 1, round(word.bbox[0] * sx, 2), baseline], _TM))
            ops.append(Op([round(100 * target / natural, 2)], _TZ))
            ops.append(Op([pikepdf.String(data)], _TJ))
    ops.append(Op([], Operator("ET")))
    return ops


def _to_unicode_cmap() -> bytes:
    """CMap mapping each 2-byte code to the same Unicode code point (surrogates excluded).
    bfrange entries may vary only in the last byte, hence one range per high byte; a
    beginbfrange block holds at most 100 entries."""
    ranges = [f"<{hi:02X}00> <{hi:02X}FF> <{hi:02X}00>" for hi in range(256) if not 0xD8 <= hi <= 0xDF]
    blocks = [ranges[i:i + 100] for i in range(0, len(ranges), 100)]
    body = "".join(f"{len(b)} beginbfrange\n" + "\n".join(b) + "\nendbfrange\n" for b in blocks)
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        f"{body}endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode("ascii")


def _glyphless_font(pdf: pikepdf.Pdf) -> Dictionary:
    """The Type0 font (Identity-H) over an embedded one-glyph TrueType CID font."""
    program = (RESOURCES / "pdf.ttf").read_bytes()
    width = int(1000 * CHAR_WIDTH_EM)
    descriptor = pdf.make_indirect(Dictionary(
        Type=Name.FontDescriptor, FontName=FONT_NAME, Flags=5, FontBBox=[0, 0, width, 1000],
        ItalicAngle=0, Ascent=1000, Descent=0, CapHeight=1000, StemV=80,
        FontFile2=_deflated(pdf, program),
    ))
    # Every CID draws glyph 1 (the blank glyph): 65,536 two-byte entries, deflated to ~300 B.
    cid_to_gid = pikepdf.Stream(pdf, zlib.compress(b"\x00\x01" * 65536), Filter=Name.FlateDecode)
    cid_font = pdf.make_indirect(Dictionary(
        Type=Name.Font, Subtype=Name.CIDFontType2, BaseFont=FONT_NAME, DW=width,
        CIDSystemInfo=Dictionary(Registry="Adobe", Ordering="Identity", Supplement=0),
        FontDescriptor=descriptor, CIDToGIDMap=cid_to_gid,
    ))
    return pdf.make_indirect(Dictionary(
        Type=Name.Font, Subtype=Name.Type0, BaseFont=FONT_NAME, Encoding=Name("/Identity-H"),
        DescendantFonts=[cid_font], ToUnicode=_deflated(pdf, _to_unicode_cmap()),
    ))


def _add_output_intent(pdf: pikepdf.Pdf) -> None:
    """The sRGB OutputIntent that makes DeviceRGB/DeviceGray images allowed under PDF/A."""
    profile = _deflated(pdf, (RESOURCES / "sRGB.icc").read_bytes())
    profile.N = 3
    intent = Dictionary(Type=Name.OutputIntent, S=Name.GTS_PDFA1, OutputConditionIdentifier=_SRGB_ID,
                        Info=_SRGB_ID, DestOutputProfile=profile)
    pdf.Root.OutputIntents = pdf.make_indirect(pikepdf.Array([intent]))


def _set_metadata(pdf: pikepdf.Pdf, metadata: PdfMetadata) -> None:
    """XMP with the PDF/A identification; pikepdf mirrors it into the info dictionary."""
    stamp = metadata.created.astimezone(timezone.utc).isoformat(timespec="seconds")
    # A stable document id per docId, so a rebuilt file is recognisably the same document.
    document_id = uuid.uuid5(uuid.NAMESPACE_URL, f"sohoa:document:{metadata.identifier}")
    pdf.Root.Metadata = pdf.make_stream(_XMP_SKELETON, Type=Name.Metadata, Subtype=Name.XML)
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:title"] = metadata.title
        meta["dc:identifier"] = metadata.identifier
        meta["dc:language"] = [metadata.language]
        if metadata.creator:
            meta["dc:creator"] = [metadata.creator]
        if metadata.subject:
            meta["dc:description"] = metadata.subject
        if metadata.keywords:
            meta["pdf:Keywords"] = metadata.keywords
        meta["pdf:Producer"] = f"{metadata.creator_tool} (pikepdf {pikepdf.__version__})"
        meta["xmp:CreatorTool"] = metadata.creator_tool
        meta["xmp:CreateDate"] = stamp
        meta["xmp:ModifyDate"] = stamp
        meta["xmp:MetadataDate"] = stamp
        meta["xmpMM:DocumentID"] = f"uuid:{document_id}"
        meta["xmpMM:InstanceID"] = f"uuid:{uuid.uuid4()}"


def _save_atomic(pdf: pikepdf.Pdf, out_path: Path) -> None:
    """Save to a temp name in the same folder, fsync, rename over the target, fsync the folder."""
    with atomic_output(out_path) as handle:
        # Version 1.7 exactly (the TT05 sample's header); qpdf writes the binary comment
        # line and a trailer /ID, and leaves the XMP stream uncompressed as PDF/A wants.
        pdf.save(handle, force_version="1.7", fix_metadata_version=False,
                 object_stream_mode=pikepdf.ObjectStreamMode.disable)
