"""Importing image files and PDFs as the pages of a document: checked first, then stored durably.

Every file is read and checked (type by its bytes, size, pixel count, full decode, PDF
structure) before anything is written, so bad input changes nothing. Then the original bytes
go to the blob store (durable), and one transaction records captures, pages, jobs and the
audit event. Only after that commit is the import reported as stored.
"""

from __future__ import annotations

import io
import logging
import os
import stat
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf
from PIL import Image, UnidentifiedImageError

from device.box import Box
from device.catalog.documents import new_document
from device.catalog.dossiers import load
from device.config import StorageConfig
from device.db import records, transaction
from device.db.events import record_event
from device.db.jobs import enqueue
from device.db.pages import NewPage, add_pages, record_capture
from device.errors import NotFoundError, UnsupportedFileError
from device.records import lifecycle
from device.records.identifiers import doc_id

log = logging.getLogger(__name__)

PROCESS_PAGE = "process_page"
PDF_RENDER_DPI = 300  # PDF pages are rendered at this resolution for processing

_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"%PDF-", "application/pdf"),
)


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed every check, with what the import needs to know of it."""

    path: Path
    data: bytes
    media_type: str
    frames: int
    width: int | None
    height: int | None


@dataclass
class ImportReport:
    """What an import stored, to be told to the person only after it is durable."""

    doc_id: str
    pages: list[dict] = field(default_factory=list)


def sniff(data: bytes) -> str | None:
    """The media type a file's first bytes announce, or None."""
    for magic, media_type in _SIGNATURES:
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_file(path: Path, limits: StorageConfig) -> CheckedFile:
    """Read and fully check one file; raises UnsupportedFileError saying what is wrong."""
    try:
        data = _read_regular_file(path, limits.max_file_mb * 2**20)
    except OSError as exc:
        raise UnsupportedFileError(f"{path}: cannot be read ({exc.strerror})",
                                   message_vi=f"Không đọc được tệp {path.name}") from None
    if not data:
        raise _refuse(path, "is empty (0 bytes)")
    media_type = sniff(data)
    if media_type is None:
        raise _refuse(path, "is not a JPEG, PNG, TIFF, WebP image or a PDF")
    if media_type == "application/pdf":
        frames, width, height = _check_pdf(path, data, limits), None, None
    else:
        frames, width, height = _check_image(path, data, limits)
    return CheckedFile(path, data, media_type, frames, width, height)


def _read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of a regular file (a symlink to one is fine) of at most `limit` bytes.

    The type and size are taken from the opened file itself, and the read stops past the
    limit, so a device, a FIFO or a file that grows cannot make the import hang or fill memory.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(path, "is not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise _refuse(path, f"is larger than the {limit // 2**20} MiB limit")
    return data


def _refuse(path: Path, reason: str) -> UnsupportedFileError:
    return UnsupportedFileError(f"{path}: {reason}; nothing was imported",
                                message_vi=f"Tệp {path.name} không hợp lệ: {reason}")


def apply_pixel_limit(limits: StorageConfig) -> int:
    """Make Pillow's own guard (a process-wide setting) follow the configured limit, in every
    process that decodes pages: it refuses at twice the limit while opening, and import refuses
    at the limit itself with the declared size. Returns the limit in pixels."""
    limit = limits.max_image_megapixels * 1_000_000
    Image.MAX_IMAGE_PIXELS = limit
    return limit


def _check_image(path: Path, data: bytes, limits: StorageConfig) -> tuple[int, int, int]:
    """Decode every frame (at reduced scale where the format allows) within the pixel limit."""
    limit = apply_pixel_limit(limits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            frames = getattr(image, "n_frames", 1)
            width, height = image.size
            if frames > limits.max_pages_per_file:
                raise _refuse(path, f"has {frames} frames; at most {limits.max_pages_per_file}")
            for index in range(frames):
                image.seek(index)
                if image.width * image.height > limit:
                    raise _refuse(path, f"declares {image.width}×{image.height} pixels; at most "
                                        f"{limits.max_image_megapixels} megapixels are accepted")
                if image.format == "JPEG":
                    image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
                image.load()
    except UnsupportedFileError:
        raise
    except Image.DecompressionBombError:
        raise _refuse(path, f"declares far more pixels than the {limits.max_image_megapixels} "
                            "megapixels accepted (a decompression bomb?)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _refuse(path, f"is damaged or truncated ({exc})") from None
    return frames, width, height


def _check_pdf(path: Path, data: bytes, limits: StorageConfig) -> int:
    """Open without repairs; refuse encryption, JavaScript and empty or oversized PDFs."""
    try:
        with pikepdf.open(io.BytesIO(data), attempt_recovery=False) as pdf:
            if pdf.is_encrypted:
                raise _refuse(path, "is encrypted")
            pages = len(pdf.pages)
            if pages == 0:
                raise _refuse(path, "has no pages")
            if pages > limits.max_pages_per_file:
                raise _refuse(path, f"has {pages} pages; at most {limits.max_pages_per_file}")
            _check_pdf_page_sizes(path, pdf, limits)
            if _has_javascript(pdf):
                raise _refuse(path, "contains JavaScript")
            return pages
    except pikepdf.PasswordError:
        raise _refuse(path, "is encrypted with a password") from None
    except pikepdf.PdfError as exc:
        raise _refuse(path, f"is damaged or truncated ({exc})") from None


def _check_pdf_page_sizes(path: Path, pdf: pikepdf.Pdf, limits: StorageConfig) -> None:
    """Refuse pages that would exceed the pixel limit once rendered for OCR (300 dpi)."""
    for number, page in enumerate(pdf.pages, start=1):
        try:
            left, bottom, right, top = (float(v) for v in page.mediabox)
        except (ValueError, TypeError, pikepdf.PdfError):
            raise _refuse(path, f"page {number} has no usable page size") from None
        pixels = abs(right - left) * abs(top - bottom) * (PDF_RENDER_DPI / 72) ** 2
        if pixels > limits.max_image_megapixels * 1_000_000:
            raise _refuse(path, f"page {number} is {abs(right - left):.0f}×{abs(top - bottom):.0f}"
                                f" pt, over {limits.max_image_megapixels} megapixels at "
                                f"{PDF_RENDER_DPI} dpi")


def _has_javascript(pdf: pikepdf.Pdf) -> bool:
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Dictionary) and (
                "/JS" in obj or obj.get("/S") == pikepdf.Name.JavaScript):
            return True
    return "/Names" in pdf.Root and "/JavaScript" in pdf.Root.Names


def import_files(box: Box, file_code: str, paths: Sequence[Path], *, actor: str,
                 document_seq: int | None = None, spread: bool = False) -> ImportReport:
    """Add files as the pages of a new document (or append to document `document_seq`).
    `spread`: each image (or PDF page) is a photo of an open register, split into its left
    and right pages (one capture, two pages); one that does not split stays one page and its
    capture is flagged qc.spread_not_found."""
    dossier = load(box, file_code)
    lifecycle.require_editable(dossier["state"])
    if document_seq is not None and records.document_by_seq(box.db, dossier["id"], document_seq) is None:
        raise NotFoundError(f"dossier {file_code} has no document {document_seq}")
    checked = [check_file(Path(path), box.config.settings.storage) for path in paths]
    if not checked:
        raise UnsupportedFileError("no files given; nothing was imported")
    limit = box.config.settings.storage.max_image_megapixels * 1_000_000
    layouts = [_split_file(item, limit) if spread else _one_page_a_frame(item) for item in checked]
    box.blobs.ensure_space(sum(len(item.data) for item in checked))
    hashes = [box.blobs.put(item.data) for item in checked]
    return _record(box, dossier, checked, hashes, actor, document_seq, layouts)


def _one_page_a_frame(item: CheckedFile) -> tuple[list[NewPage], dict | None]:
    return [NewPage(frame=index) for index in range(item.frames)], None


def _split_file(item: CheckedFile, max_pixels: int) -> tuple[list[NewPage], dict | None]:
    """The pages of a file of open-register photos (left then right of each frame), and the
    capture's QC record: qc.spread_not_found when a frame did not split."""
    from device.imaging.quality import spread_not_found
    from device.imaging.spread import split_spread
    from device.records.sheets import spread_sides
    from device.worker.source import decode_page  # it imports this module

    pages: list[NewPage] = []
    found: list[dict] = []
    for frame in range(item.frames):
        image, _dpi = decode_page(item.data, item.media_type, frame, max_pixels=max_pixels)
        split = split_spread(image)
        del image
        found.append({"frame": frame, "applied": split.applied, "reason": split.reason})
        if not split.applied:
            pages.append(NewPage(frame=frame))
            continue
        for side, quad in zip(spread_sides(2), split.pages, strict=True):
            region = [[round(float(x), 2), round(float(y), 2)] for x, y in quad]
            pages.append(NewPage(frame=frame, side=side, region=region))
    missed = [entry["reason"] for entry in found if not entry["applied"]]
    if not missed:
        return pages, {"spread": found}
    flag = spread_not_found(missed[0])
    log.info("%s: %d of %d frames are not an open register's two pages", item.path.name,
             len(missed), item.frames)
    return pages, {"flags": [flag.as_dict()], "spread": found}


def _record(box: Box, dossier: dict, checked: list[CheckedFile], hashes: list[str], actor: str,
            document_seq: int | None, layouts: list[tuple[list[NewPage], dict | None]]) -> ImportReport:
    max_attempts = box.config.settings.jobs.max_attempts
    with transaction(box.db):
        dossier = load(box, dossier["file_code"])  # re-read under the write lock
        lifecycle.require_editable(dossier["state"])
        if document_seq is None:
            document_id, seq = new_document(box, dossier, actor=actor)
        else:
            document = records.document_by_seq(box.db, dossier["id"], document_seq)
            document_id, seq = document["id"], document_seq
        report = ImportReport(doc_id=doc_id(dossier["file_code"], seq))
        for item, sha256, (pages, qc) in zip(checked, hashes, layouts, strict=True):
            capture_id = record_capture(
                box.db, raw_sha256=sha256, media_type=item.media_type, source="import",
                dossier_id=dossier["id"], original_name=item.path.name, width=item.width,
                height=item.height, frames=item.frames, qc=qc)
            flags = [flag["reason_key"] for flag in (qc or {}).get("flags", [])]
            page_ids = add_pages(box.db, document_id, capture_id, pages)
            for page, page_id in zip(pages, page_ids, strict=True):
                enqueue(box.db, PROCESS_PAGE, f"page:{page_id}", max_attempts)
                report.pages.append({"id": page_id, "file": str(item.path), "frame": page.frame,
                                     "sha256": sha256, "side": page.side, "flags": flags})
        record_event(box.db, actor, "document.import", "document", document_id,
                     {"docId": report.doc_id, "files": [c.path.name for c in checked],
                      "pages": [p["id"] for p in report.pages]})
    log.info("imported %d pages into %s", len(report.pages), report.doc_id)
    return report
