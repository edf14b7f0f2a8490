"""A page's text under review: the OCR's words with their confidences, and a person's correction
kept beside the OCR text (never over it), re-indexed for search and audited.

Who may correct: anyone while the dossier is editable (draft, returned); only a reviewer or an
admin while it is in review (the operator waits for the verdict, so the text does not change
under the reviewer's eyes); nobody once it is approved (its package is frozen: reopen it).
A correction belongs to the OCR result it was made on: when the page is processed again (a
retake, new corners) the new OCR text applies and the old correction is shown as outdated.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from typing import Any

from device.box import Box
from device.db import records, transaction
from device.db.events import record_event
from device.db.pages import pages_of
from device.db.search import index_page_text
from device.db.text_corrections import (
    correction_of, drop_correction, page_with_dossier, store_correction,
)
from device.errors import InputError, IntegrityError, NotFoundError, StateError
from device.records.identifiers import doc_id
from device.records.lifecycle import EDITABLE, DossierState, state_vi
from device.worker import word_boxes

log = logging.getLogger(__name__)

# Tesseract's word confidence (0–100) under which a word is shown as doubtful. Measured on
# the maint-guide-vi pages against their ground truth (clean 300 dpi and blurred 150 dpi):
# about 8 in 10 words under 70 are misread, and they are under 2% of the words; under 90,
# twice as many misreads are caught but half the marked words are right. Many misreads score
# high, so a marked word is a place to look, not the only one.
LOW_CONFIDENCE = 70.0
MAX_TEXT = 100_000  # characters; a dense A4 page holds about 5,000
REVIEW_ROLES = frozenset({"reviewer", "admin"})


@dataclass(frozen=True)
class PageText:
    """What the OCR read, and the correction that applies to it (if any)."""

    ocr_text: str
    corrected: str | None = None
    corrected_by: str | None = None
    corrected_at: str | None = None
    outdated: str | None = None  # a correction made on an earlier OCR result of the page

    @property
    def text(self) -> str:
        """The page's text as search (and a reader) should take it."""
        return self.corrected if self.corrected is not None else self.ocr_text


@dataclass(frozen=True)
class Word:
    """One OCR word: its index in the stored word boxes, text, box and confidence."""

    index: int
    text: str
    bbox: tuple[int, int, int, int]
    confidence: float
    low: bool


@dataclass(frozen=True)
class PageWords:
    """A page's OCR words in reading order, line by line, on an image of width × height."""

    width: int
    height: int
    lines: list[tuple[bool, list[Word]]]  # (starts a new block, the line's words)

    @property
    def low(self) -> list[Word]:
        return [word for _new_block, words in self.lines for word in words if word.low]


def page_text(box: Box, page: dict[str, Any]) -> PageText:
    """The page's OCR text and the correction that applies to it."""
    ocr = page.get("ocr_text") or ""
    stored = correction_of(box.db, page["id"])
    if stored is None:
        return PageText(ocr)
    if stored["ocr_words_sha256"] != page.get("hocr_sha256"):
        return PageText(ocr, outdated=stored["text"])
    return PageText(ocr, stored["text"], stored["corrected_by"], stored["corrected_at"])


def searchable_text(box: Box, page_id: int, ocr_text: str, ocr_words_sha256: str | None) -> str:
    """The text to index for a page whose OCR result is (ocr_text, ocr_words_sha256): its
    correction when one was made on that very result (for the worker, when it re-indexes)."""
    stored = correction_of(box.db, page_id)
    if stored is not None and stored["ocr_words_sha256"] == ocr_words_sha256:
        return stored["text"]
    return ocr_text


def may_correct(dossier_state: str, role: str) -> bool:
    state = DossierState(dossier_state)
    return state in EDITABLE or (state is DossierState.IN_REVIEW and role in REVIEW_ROLES)


def _require_may_correct(dossier_state: str, role: str) -> None:
    if may_correct(dossier_state, role):
        return
    state = DossierState(dossier_state)
    if state is DossierState.IN_REVIEW:
        raise StateError(
            "the dossier is in review: only a reviewer may correct its text",
            message_vi="Hồ sơ đang kiểm duyệt: chỉ người kiểm duyệt được sửa văn bản.")
    raise StateError(
        f"the dossier is {state.value}; reopen it to correct its text",
        message_vi=f"Hồ sơ đang ở trạng thái {state_vi(state)}; hãy mở lại để sửa.")


def _clean(text: Any) -> str:
    if not isinstance(text, str):
        raise InputError("the corrected text must be text", message_vi="Văn bản sửa không hợp lệ.")
    cleaned = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    cleaned = "\n".join(line.rstrip() for line in cleaned.strip("\n").split("\n"))
    if len(cleaned) > MAX_TEXT:
        raise InputError(
            f"the corrected text is {len(cleaned)} characters; at most {MAX_TEXT}",
            message_vi=f"Văn bản quá dài ({len(cleaned)} ký tự); tối đa {MAX_TEXT}.")
    return cleaned


# `made_on` left out: the caller does not say which OCR result the text was typed against.
_ANY_RESULT = object()


def correct_page_text(box: Box, page_id: int, text: Any, *, actor: str, role: str,
                      made_on: Any = _ANY_RESULT) -> str:
    """Keep `text` as the page's corrected text and index it for search. Text that only
    differs from the OCR's in spacing drops the correction instead. Returns "corrected",
    "reverted" or "unchanged". `made_on` is the OCR result (its word boxes' sha256, None for
    none) the person read while typing: StateError, nothing saved, when the page has been
    read again since (a retake, new corners, a turn)."""
    cleaned = _clean(text)
    with transaction(box.db):
        page = page_with_dossier(box.db, page_id)
        if page is None:
            raise NotFoundError(f"no page {page_id}", message_vi="Không có trang này.")
        _require_may_correct(page["dossier_state"], role)
        if page["page_state"] != "processed":
            raise StateError(f"page {page_id} has not been read yet",
                             message_vi="Trang chưa được nhận dạng chữ (OCR) xong.")
        if made_on is not _ANY_RESULT and made_on != page["hocr_sha256"]:
            raise StateError(
                f"page {page_id} was read again after the text was opened; nothing was saved: "
                "check the new text and correct it again",
                message_vi="Trang đã được xử lý lại (chụp lại, xoay hoặc chỉnh góc) sau khi bạn mở "
                           "văn bản, nên văn bản OCR đã khác. Chưa lưu gì: hãy xem văn bản mới "
                           "rồi sửa lại.")
        current = page_text(box, page)
        ocr = page["ocr_text"] or ""
        if " ".join(cleaned.split()) == " ".join(ocr.split()):
            outcome = "reverted" if drop_correction(box.db, page_id) else "unchanged"
            effective = ocr
        elif current.corrected == cleaned:
            outcome, effective = "unchanged", cleaned
        else:
            store_correction(box.db, page_id, cleaned, page["hocr_sha256"], actor)
            outcome, effective = "corrected", cleaned
        if outcome == "unchanged":
            return outcome
        index_page_text(box.db, page_id, effective)
        record_event(box.db, actor, f"page.text_{outcome}", "page", page_id, {
            "docId": doc_id(page["file_code"], page["seq"]), "position": page["position"],
            "ocrWords": page["hocr_sha256"],
            "text": effective if outcome == "corrected" else None})
    log.info("page %d: text %s by %s", page_id, outcome, actor)
    return outcome


def _word(stored: list[Any], index: int, threshold: float) -> Word:
    text, x0, y0, x1, y1, confidence = stored[index]
    return Word(index, str(text), (int(x0), int(y0), int(x1), int(y1)), float(confidence),
                float(confidence) < threshold)


def page_words(box: Box, page: dict[str, Any],
               threshold: float = LOW_CONFIDENCE) -> PageWords | None:
    """The page's OCR words with the doubtful ones marked; None when it has none readable."""
    if page.get("state") != "processed" or not page.get("hocr_sha256"):
        return None
    try:
        boxes = word_boxes.decode(box.blobs.read(page["hocr_sha256"], verify=True))
        lines, last_block = [], None
        for line in boxes["lines"]:
            found = [_word(boxes["words"], i, threshold) for i in line["words"]]
            lines.append((last_block is not None and line["block"] != last_block, found))
            last_block = line["block"]
        return PageWords(int(boxes["width"]), int(boxes["height"]), lines)
    except (IntegrityError, NotFoundError, OSError, KeyError, IndexError, TypeError,
            ValueError) as exc:
        log.warning("page %d: word boxes %s unreadable: %s", page["id"], page["hocr_sha256"], exc)
        return None


def review_pages(box: Box, dossier: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of the dossier in reading order, each with its document's docId."""
    pages = []
    for document in records.documents_of(box.db, dossier["id"]):
        identifier = doc_id(dossier["file_code"], document["seq"])
        pages += [{**page, "docId": identifier} for page in pages_of(box.db, document["id"])]
    return pages
