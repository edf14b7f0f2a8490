"""Queries on page text corrections: the text a person typed over a page's OCR result."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from device.db.timeutil import now


def correction_of(db: Database, page_id: int) -> dict[str, Any] | None:
    """The page's stored correction (text, ocr_words_sha256, corrected_by, corrected_at)."""
    rows = list(db.query("SELECT * FROM page_text_corrections WHERE page_id = ?", [page_id]))
    return rows[0] if rows else None


def store_correction(db: Database, page_id: int, text: str, ocr_words_sha256: str | None,
                     actor: str) -> None:
    """Keep `text` as the page's corrected text (replacing an earlier correction)."""
    db.conn.execute(
        "INSERT INTO page_text_corrections (page_id, text, ocr_words_sha256, corrected_by,"
        " corrected_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (page_id) DO UPDATE SET"
        " text = excluded.text, ocr_words_sha256 = excluded.ocr_words_sha256,"
        " corrected_by = excluded.corrected_by, corrected_at = excluded.corrected_at",
        (page_id, text, ocr_words_sha256, actor, now()))


def restore_correction(db: Database, page_id: int, correction: dict[str, Any]) -> None:
    """Put back a correction kept with a deleted page (`correction_of`'s row), as it was:
    the same text, OCR result, author and time."""
    db.conn.execute(
        "INSERT INTO page_text_corrections (page_id, text, ocr_words_sha256, corrected_by,"
        " corrected_at) VALUES (?, ?, ?, ?, ?)",
        (page_id, correction["text"], correction["ocr_words_sha256"],
         correction["corrected_by"], correction["corrected_at"]))


def drop_correction(db: Database, page_id: int) -> bool:
    """Forget the page's correction (its OCR text applies again); False if it had none."""
    return db.conn.execute("DELETE FROM page_text_corrections WHERE page_id = ?",
                           (page_id,)).rowcount == 1


def page_with_dossier(db: Database, page_id: int) -> dict[str, Any] | None:
    """A page's text columns with its document's seq and its dossier's code and state."""
    rows = list(db.query(
        "SELECT p.id, p.position, p.state AS page_state, p.ocr_text, p.hocr_sha256,"
        " d.seq, s.file_code, s.state AS dossier_state FROM pages p"
        " JOIN documents d ON d.id = p.document_id JOIN dossiers s ON s.id = d.dossier_id"
        " WHERE p.id = ?", [page_id]))
    return rows[0] if rows else None
