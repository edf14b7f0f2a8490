"""One document's PDF/A-2b (`{docId}.pdf`): its processed pages' masters and word boxes, TT05 metadata in XMP."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pikepdf

from device.archive.pdf import PdfMetadata, PdfPage, pdfa_document, write_pdfa
from device.box import Box
from device.catalog.documents import load_document
from device.catalog.effective import document_values
from device.db import records
from device.db.pages import pages_of
from device.errors import IntegrityError, NotFoundError, StateError
from device.records import codes
from device.worker import word_boxes

log = logging.getLogger(__name__)

#: TT05 language codes (list C) as the language tags XMP's dc:language takes; a bilingual
#: code gives its first language, Hán Nôm and "other" are left undetermined.
_LANGUAGE_TAGS = {"01": "vi", "02": "en", "03": "fr", "04": "ru", "05": "zh", "06": "vi",
                  "07": "vi", "08": "vi", "10": "vi"}


def build_document_pdf(box: Box, document: str | dict[str, Any], out_path: Path) -> Path:
    """Write the PDF/A-2b of a document (a docId, or its `documents` row) to `out_path`.

    Refuses (StateError) a document without pages or with a page not processed yet or
    failed, naming the page; NotFoundError for an unknown docId or a missing blob."""
    identifier, pdf_pages, meta = _document_parts(box, document)
    write_pdfa(pdf_pages, Path(out_path), meta)
    log.info("document %s: PDF/A of %d pages written to %s", identifier, len(pdf_pages), out_path)
    return Path(out_path)


def document_pdfa(box: Box, document: str | dict[str, Any]) -> pikepdf.Pdf:
    """The document's PDF/A-2b in memory, not saved (the caller closes it); refuses as
    build_document_pdf does. The packager stamps it and saves it once."""
    _, pdf_pages, meta = _document_parts(box, document)
    return pdfa_document(pdf_pages, meta)


def _document_parts(box: Box, document: str | dict[str, Any]
                    ) -> tuple[str, list[PdfPage], PdfMetadata]:
    dossier, row = _resolve(box, document)
    values = document_values({**row, "page_count": 0}, dossier)
    identifier = values["docId"]
    pages = pages_of(box.db, row["id"])
    _require_processed(identifier, pages)
    return identifier, [_pdf_page(box, identifier, page) for page in pages], metadata(values)


def _resolve(box: Box, document: str | dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    if isinstance(document, str):
        return load_document(box, document)
    dossier = records.dossier_by_id(box.db, document["dossier_id"])
    if dossier is None:
        raise NotFoundError(f"document {document['id']} belongs to no dossier")
    return dossier, document


def _require_processed(identifier: str, pages: list[dict[str, Any]]) -> None:
    """Refuse a document without pages, or with failed pages (named first: they need a
    person) or pages the worker has not finished."""
    if not pages:
        raise StateError(f"document {identifier} has no pages",
                         message_vi=f"Tài liệu {identifier} chưa có trang nào")
    failed = [page for page in pages if page["state"] == "failed"]
    if failed:
        listed = "; ".join(f"page {p['position']} (id {p['id']}): {p['error']}" for p in failed)
        numbers = ", ".join(str(p["position"]) for p in failed)
        raise StateError(f"document {identifier}: could not be processed: {listed}; re-shoot or "
                         "re-import these pages first",
                         message_vi=f"Tài liệu {identifier}: trang {numbers} xử lý không thành "
                                    "công; hãy chụp hoặc nhập lại")
    waiting = [page for page in pages if page["state"] != "processed"
               or not page["master_sha256"] or not page["hocr_sha256"]]
    if waiting:
        numbers = ", ".join(str(p["position"]) for p in waiting)
        raise StateError(f"document {identifier}: page {numbers} not processed yet; wait for the "
                         "worker (`sohoa worker`)",
                         message_vi=f"Tài liệu {identifier}: trang {numbers} chưa xử lý xong; "
                                    "hãy đợi")


def _pdf_page(box: Box, identifier: str, page: dict[str, Any]) -> PdfPage:
    """The page's master (read once: the bytes checked against their hash are the bytes
    embedded) and its word boxes."""
    master = page["master_sha256"]
    try:
        jpeg = box.blobs.read(master, verify=True)
    except NotFoundError:
        raise NotFoundError(f"document {identifier}: page {page['position']}'s master {master} "
                            "is missing from the blob store (run `sohoa fsck`)") from None
    except IntegrityError:
        raise IntegrityError(f"document {identifier}: page {page['position']}'s master {master} "
                             "is corrupt (run `sohoa fsck`)") from None
    data = box.blobs.read(page["hocr_sha256"], verify=True)
    return word_boxes.pdf_page(jpeg, float(page["dpi"]), data)


def metadata(values: dict[str, Any]) -> PdfMetadata:
    """XMP from the TT05 document fields: title = trích yếu (subject), creator = the issuing
    body, description = type, number and date, keywords = từ khóa."""
    identifier = values["docId"]
    kind = codes.name_of("typeName", values["typeName"]) if values.get("typeName") else ""
    number = "/".join(str(v) for v in (values.get("codeNumber"), values.get("codeNotation")) if v)
    parts = [kind, f"số {number}" if number else "",
             f"ngày {values['issuedDate']}" if values.get("issuedDate") else ""]
    languages = values.get("language") or []
    return PdfMetadata(
        title=values.get("subject") or identifier,
        identifier=identifier,
        creator=values.get("organName") or "",
        subject=" ".join(part for part in parts if part),
        keywords=values.get("keyword") or "",
        language=_LANGUAGE_TAGS.get(languages[0] if languages else "01", "und"),
    )

