"""A cheap structural PDF/A-2b identification of a PDF inside a zip, read in place (pikepdf).

Not a PDF/A validator (veraPDF is that): it checks what PRONOM's fmt/477 signature and a
reader rely on: the %PDF-1.x header, no encryption, XMP metadata declaring pdfaid part 2 and
conformance B, and an OutputIntent. A stored (uncompressed) entry is opened through a
read-only window on the zip file, so nothing is copied; a compressed one is read into
memory only up to `MAX_COMPRESSED_PDF` bytes.
"""

from __future__ import annotations

import io
import logging
import re
import struct
import zipfile
import zlib

import pikepdf

log = logging.getLogger(__name__)

MAX_COMPRESSED_PDF = 256 << 20
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_PDFAID = re.compile(rb"pdfaid:part\s*(?:=\s*[\"']|>)\s*2\b.*?pdfaid:conformance\s*(?:=\s*[\"']|>)"
                     rb"\s*B\b", re.DOTALL)


class _Window(io.RawIOBase):
    """Bytes [start, start+length) of an open binary file, as a seekable read-only file."""

    def __init__(self, handle: io.BufferedIOBase, start: int, length: int) -> None:
        self._handle, self._start, self._length, self._pos = handle, start, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        wanted = min(len(buffer), self._length - self._pos)
        if wanted <= 0:
            return 0
        self._handle.seek(self._start + self._pos)
        data = self._handle.read(wanted)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def _stored_window(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> io.BufferedReader:
    handle = archive.fp
    assert handle is not None
    handle.seek(info.header_offset)
    header = _LOCAL_HEADER.unpack(handle.read(_LOCAL_HEADER.size))
    if header[0] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header for {info.filename}")
    start = info.header_offset + _LOCAL_HEADER.size + header[-2] + header[-1]
    return io.BufferedReader(_Window(handle, start, info.file_size))


def pdf_problems(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[int, list[str]]:
    """(page count, problems) of the PDF entry `info`; no problems means PDF/A-2b marks found.

    Call only after the entry's bytes were checked against its recorded SHA-256."""
    if info.compress_type == zipfile.ZIP_STORED:
        stream: io.IOBase = _stored_window(archive, info)
    elif info.file_size <= MAX_COMPRESSED_PDF:
        stream = io.BytesIO(archive.read(info))
    else:
        return 0, [f"compressed PDF larger than {MAX_COMPRESSED_PDF} bytes; store PDFs uncompressed"]
    if stream.read(8)[:7] not in (b"%PDF-1.", b"%PDF-2."):
        return 0, ["no %PDF header"]
    stream.seek(0)
    try:
        with pikepdf.open(stream) as pdf:
            return len(pdf.pages), _marks(pdf)
    except pikepdf.PdfError as exc:
        return 0, [f"unreadable PDF: {exc}"]


_MAX_XMP_BYTES = 4 << 20  # a real XMP packet is a few KiB; a larger one is not read


def _bounded_xmp(stream: pikepdf.Stream) -> bytes:
    """The XMP packet, decoded at most _MAX_XMP_BYTES far (a deflate bomb stops there)."""
    raw = bytes(stream.read_raw_bytes())
    filters = stream.get("/Filter")
    names = [filters] if isinstance(filters, pikepdf.Name) else list(filters or [])
    if not names:
        return raw[:_MAX_XMP_BYTES]
    if names == [pikepdf.Name.FlateDecode]:
        try:
            return zlib.decompressobj().decompress(raw, _MAX_XMP_BYTES)
        except zlib.error:
            return b""
    return b""  # another filter on XMP: not what a PDF/A writer makes; read as missing


def _marks(pdf: pikepdf.Pdf) -> list[str]:
    problems = []
    if pdf.is_encrypted:
        problems.append("encrypted")
    if pdf.pdf_version != "1.7":
        problems.append(f"PDF version {pdf.pdf_version}, PDF/A-2 is based on 1.7")
    metadata = pdf.Root.get("/Metadata")
    xmp = _bounded_xmp(metadata) if isinstance(metadata, pikepdf.Stream) else b""
    if not _PDFAID.search(xmp):
        problems.append("XMP does not declare pdfaid part 2 conformance B")
    if not pdf.Root.get("/OutputIntents"):
        problems.append("no OutputIntent")
    return problems
