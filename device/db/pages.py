"""Queries on captures (one shot or one imported file) and pages (what a capture holds)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from device.db.timeutil import now
from device.records.sheets import Side, assign_sheets

BLOB_COLUMNS = ("master_sha256", "ocr_image_sha256", "hocr_sha256")


@dataclass(frozen=True)
class NewPage:
    """A page to add: which frame of the capture it is, its region there and its side."""

    frame: int = 0
    side: Side = "recto"
    region: list[list[float]] | None = None


def record_capture(db: Database, *, raw_sha256: str, media_type: str, source: str,
                   dossier_id: int | None, original_name: str | None = None,
                   width: int | None = None, height: int | None = None, frames: int = 1,
                   qc: dict[str, Any] | None = None) -> int:
    """One shot or imported file whose bytes are already durable in the blob store."""
    cursor = db.conn.execute(
        "INSERT INTO captures (dossier_id, raw_sha256, media_type, source, original_name, width,"
        " height, frames, qc, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (dossier_id, raw_sha256, media_type, source, original_name, width, height, frames,
         json.dumps(qc or {}, ensure_ascii=False), now()))
    return int(cursor.lastrowid)


def add_pages(db: Database, document_id: int, capture_id: int, pages: Sequence[NewPage]) -> list[int]:
    """Append pages to the end of a document and renumber its sheets; returns the page ids."""
    last = db.conn.execute("SELECT position, sheet, side FROM pages WHERE document_id = ?"
                           " ORDER BY position DESC LIMIT 1", (document_id,)).fetchone()
    # Appending never changes the sheets before it: number only the new pages, continuing from
    # the last one (a capture of a 1,000-page register must not rewrite 1,000 rows).
    start, prefix, offset = (last[0], [last[2]], last[1] - 1) if last else (0, [], 0)
    sheets = assign_sheets([*prefix, *(page.side for page in pages)])[len(prefix):]
    stamp = now()
    ids = []
    for index, (page, sheet) in enumerate(zip(pages, sheets, strict=True), start=1):
        cursor = db.conn.execute(
            "INSERT INTO pages (document_id, capture_id, position, frame, region, side, sheet,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (document_id, capture_id, start + index, page.frame,
             json.dumps(page.region) if page.region is not None else None, page.side,
             sheet + offset, stamp, stamp))
        ids.append(int(cursor.lastrowid))
    return ids


def renumber_sheets(db: Database, document_id: int) -> None:
    """Recompute each page's sheet from the sides of the pages in order."""
    rows = db.conn.execute("SELECT id, side FROM pages WHERE document_id = ? ORDER BY position",
                           (document_id,)).fetchall()
    for (page_id, _side), sheet in zip(rows, assign_sheets([side for _, side in rows]), strict=True):
        db.conn.execute("UPDATE pages SET sheet = ? WHERE id = ?", (sheet, page_id))


def pages_of(db: Database, document_id: int) -> list[dict[str, Any]]:
    """A document's pages in order, with their capture's raw blob."""
    rows = db.query(
        "SELECT p.*, c.raw_sha256, c.media_type FROM pages p JOIN captures c ON c.id = p.capture_id"
        " WHERE p.document_id = ? ORDER BY p.position", [document_id])
    return [_decode(row) for row in rows]


def page_by_id(db: Database, page_id: int) -> dict[str, Any] | None:
    rows = list(db.query(
        "SELECT p.*, c.raw_sha256, c.media_type FROM pages p JOIN captures c ON c.id = p.capture_id"
        " WHERE p.id = ?", [page_id]))
    return _decode(rows[0]) if rows else None


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "qc_flags": json.loads(row["qc_flags"]),
            "region": json.loads(row["region"]) if row["region"] else None}


def referenced_blobs(db: Database) -> dict[str, list[str]]:
    """Every blob hash the database refers to, with the rows that refer to it."""
    refs: dict[str, list[str]] = {}
    for capture_id, sha in db.conn.execute("SELECT id, raw_sha256 FROM captures"):
        refs.setdefault(sha, []).append(f"capture {capture_id} raw")
    for column in BLOB_COLUMNS:
        for page_id, sha in db.conn.execute(
                f"SELECT id, {column} FROM pages WHERE {column} IS NOT NULL"):
            refs.setdefault(sha, []).append(f"page {page_id} {column.removesuffix('_sha256')}")
    return refs


def dossier_counts(db: Database, dossier_id: int) -> dict[str, int]:
    """totalDoc, numberOfPage and numberOfPaper of a dossier, computed from its pages."""
    row = db.conn.execute(
        "SELECT (SELECT count(*) FROM documents WHERE dossier_id = :d),"
        " (SELECT count(*) FROM pages p JOIN documents x ON x.id = p.document_id"
        "  WHERE x.dossier_id = :d),"
        " (SELECT count(*) FROM (SELECT DISTINCT p.document_id, p.sheet FROM pages p"
        "  JOIN documents x ON x.id = p.document_id WHERE x.dossier_id = :d))",
        {"d": dossier_id}).fetchone()
    return {"totalDoc": row[0], "numberOfPage": row[1], "numberOfPaper": row[2]}


def page_for_processing(db: Database, page_id: int) -> dict[str, Any] | None:
    """A page with what the worker needs of its capture: raw blob, media type, shutter QC."""
    rows = list(db.query(
        "SELECT p.*, c.raw_sha256, c.media_type, c.qc AS capture_qc FROM pages p"
        " JOIN captures c ON c.id = p.capture_id WHERE p.id = ?", [page_id]))
    if not rows:
        return None
    return {**_decode(rows[0]), "capture_qc": json.loads(rows[0]["capture_qc"])}


def finish_page(db: Database, page_id: int, *, master_sha256: str, ocr_image_sha256: str | None,
                hocr_sha256: str, dpi: float, qc_flags: dict[str, Any], blank: bool, text: str,
                confidence: float, engine: str, model_sha256: str) -> bool:
    """Record a processed page: its blobs, dpi, QC, blank flag and OCR result (call in the
    transaction that finishes its job and indexes its text). False if the page is gone."""
    cursor = db.conn.execute(
        "UPDATE pages SET state = 'processed', error = NULL, master_sha256 = ?,"
        " ocr_image_sha256 = ?, hocr_sha256 = ?, dpi = ?, qc_flags = ?, blank = ?, ocr_text = ?,"
        " ocr_confidence = ?, ocr_engine = ?, ocr_model_sha256 = ?, updated_at = ? WHERE id = ?",
        (master_sha256, ocr_image_sha256, hocr_sha256, dpi,
         json.dumps(qc_flags, ensure_ascii=False, sort_keys=True), int(blank), text, confidence,
         engine, model_sha256, now(), page_id))
    return cursor.rowcount == 1


def note_page_error(db: Database, page_id: int, error: str) -> None:
    """Say why the last attempt at a page failed while it waits for another (state unchanged)."""
    db.conn.execute("UPDATE pages SET error = ?, updated_at = ? WHERE id = ?",
                    (error[:2000], now(), page_id))



def last_capture_fingerprint(db: Database, dossier_id: int) -> str | None:
    """The QC fingerprint of the dossier's latest camera shot, for the next duplicate check."""
    row = db.conn.execute(
        "SELECT json_extract(qc, '$.fingerprint') FROM captures WHERE dossier_id = ?"
        " AND json_extract(qc, '$.fingerprint') IS NOT NULL ORDER BY id DESC LIMIT 1",
        (dossier_id,)).fetchone()
    return row[0] if row else None
