"""Queries on captures (one shot or one imported file) and pages (what a capture holds)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from device.db.text_corrections import correction_of, restore_correction
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


def pages_of(db: Database, document_id: int, limit: int | None = None) -> list[dict[str, Any]]:
    """A document's pages in order (the first `limit` only, when given), with their capture's
    raw blob."""
    rows = db.query(
        "SELECT p.*, c.raw_sha256, c.media_type FROM pages p JOIN captures c ON c.id = p.capture_id"
        " WHERE p.document_id = ? ORDER BY p.position LIMIT ?",
        [document_id, -1 if limit is None else limit])
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
    for capture_id, sha in db.conn.execute(  # a raw capture deleted by retention is gone on purpose
            "SELECT id, raw_sha256 FROM captures WHERE raw_deleted_at IS NULL"):
        refs.setdefault(sha, []).append(f"capture {capture_id} raw")
    for column in BLOB_COLUMNS:
        for page_id, sha in db.conn.execute(
                f"SELECT id, {column} FROM pages WHERE {column} IS NOT NULL"):
            refs.setdefault(sha, []).append(f"page {page_id} {column.removesuffix('_sha256')}")
        for page_id, sha in db.conn.execute(  # a deleted page keeps what it was made of
                f"SELECT page_id, json_extract(page, '$.{column}') FROM deleted_pages"
                f" WHERE json_extract(page, '$.{column}') IS NOT NULL"):
            refs.setdefault(sha, []).append(f"deleted page {page_id} {column.removesuffix('_sha256')}")
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


def page_place(db: Database, page_id: int) -> dict[str, Any] | None:
    """Where a page is: its id, position, capture, document (id, seq) and dossier (id, fileCode)."""
    row = db.conn.execute(
        "SELECT p.id, p.position, p.capture_id, d.id, d.seq, s.id, s.file_code FROM pages p"
        " JOIN documents d ON d.id = p.document_id JOIN dossiers s ON s.id = d.dossier_id"
        " WHERE p.id = ?", (page_id,)).fetchone()
    if row is None:
        return None
    return {"id": row[0], "position": row[1], "capture_id": row[2], "document_id": row[3],
            "document_seq": row[4], "dossier_id": row[5], "file_code": row[6]}


def fingerprint_before(db: Database, document_id: int, position: int) -> str | None:
    """The QC fingerprint of the capture of the page just before `position` in its document
    (a retake is checked against it: laying the previous page again is a duplicate)."""
    row = db.conn.execute(
        "SELECT json_extract(c.qc, '$.fingerprint') FROM pages p JOIN captures c"
        " ON c.id = p.capture_id WHERE p.document_id = ? AND p.position < ?"
        " ORDER BY p.position DESC LIMIT 1", (document_id, position)).fetchone()
    return row[0] if row else None


def replace_capture(db: Database, page_id: int, capture_id: int) -> int | None:
    """A retake: `capture_id` becomes the page's source (one whole frame) and what was made
    from or set on the old one (master, QC, OCR text, the operator's turn and hand-set
    corners) is cleared, so the page waits to be processed again; its id, position, side and
    document stay. Returns the capture it replaced (kept, like every raw capture), None when
    there is no such page. Call it in the transaction that re-queues the page and drops its
    text from the index."""
    row = db.conn.execute("SELECT capture_id FROM pages WHERE id = ?", (page_id,)).fetchone()
    if row is None:
        return None
    db.conn.execute(
        "UPDATE pages SET capture_id = ?, frame = 0, region = NULL, rotation = 0,"
        " manual_quad = NULL, state = 'new', error = NULL,"
        " master_sha256 = NULL, ocr_image_sha256 = NULL, hocr_sha256 = NULL, qc_flags = '{}',"
        " blank = 0, dpi = NULL, ocr_text = NULL, ocr_confidence = NULL, ocr_engine = NULL,"
        " ocr_model_sha256 = NULL, updated_at = ? WHERE id = ?", (capture_id, now(), page_id))
    return int(row[0])


def page_for_processing(db: Database, page_id: int) -> dict[str, Any] | None:
    """A page with what the worker needs of its capture: raw blob, media type, shutter QC."""
    rows = list(db.query(
        "SELECT p.*, c.raw_sha256, c.media_type, c.qc AS capture_qc FROM pages p"
        " JOIN captures c ON c.id = p.capture_id WHERE p.id = ?", [page_id]))
    if not rows:
        return None
    page = {**_decode(rows[0]), "capture_qc": json.loads(rows[0]["capture_qc"])}
    manual = manual_quad_of(page)
    if manual is not None:  # corners set by hand replace the region the capture found
        page["region"] = manual
    return page


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
    """The QC fingerprint of the dossier's latest camera shot, for the next duplicate check.
    Retakes are left out: the page after a retake follows the last page, not the retaken one."""
    row = db.conn.execute(
        "SELECT json_extract(qc, '$.fingerprint') FROM captures WHERE dossier_id = ?"
        " AND json_extract(qc, '$.fingerprint') IS NOT NULL"
        " AND json_extract(qc, '$.retake_of') IS NULL ORDER BY id DESC LIMIT 1",
        (dossier_id,)).fetchone()
    return row[0] if row else None


# Page grid edits (device.catalog.pages): order, documents, turns, hand-set corners, deletion.

def manual_quad_of(page: dict[str, Any]) -> list[list[float]] | None:
    """The page's hand-set corners (TL, TR, BR, BL in its capture frame's pixels), or None when
    none were set or they were set on another capture or frame (the page was retaken)."""
    stored = page.get("manual_quad")
    if not stored:
        return None
    manual = json.loads(stored) if isinstance(stored, str) else stored
    if manual.get("capture") != page["capture_id"] or manual.get("frame") != page["frame"]:
        return None
    return manual["quad"]


def page_ids_of(db: Database, document_id: int) -> list[int]:
    """A document's page ids in order."""
    return [row[0] for row in db.conn.execute(
        "SELECT id FROM pages WHERE document_id = ? ORDER BY position", (document_id,))]


def place_pages(db: Database, document_id: int, page_ids: list[int]) -> None:
    """Make `page_ids` (from this or other documents) the document's pages 1..n in this order
    and renumber its sheets. Pages it held that are not listed keep a negative position until
    their own document is placed (call this for every document a change touched)."""
    marks = ",".join("?" * len(page_ids))
    # Positions are unique in a document: move everything out of the way first (-id is unique).
    db.conn.execute(f"UPDATE pages SET position = -id WHERE document_id = ? OR id IN ({marks})",
                    (document_id, *page_ids))
    stamp = now()
    db.conn.executemany("UPDATE pages SET document_id = ?, position = ?, updated_at = ? WHERE id = ?",
                        [(document_id, index, stamp, page_id)
                         for index, page_id in enumerate(page_ids, start=1)])
    renumber_sheets(db, document_id)


def shift_documents(db: Database, dossier_id: int, from_seq: int, delta: int) -> None:
    """Add `delta` to the seq of the dossier's documents from `from_seq` on (seq is unique and
    at least 1, so they pass through a range no document uses)."""
    far = 1_000_000
    db.conn.execute("UPDATE documents SET seq = seq + ? WHERE dossier_id = ? AND seq >= ?",
                    (far, dossier_id, from_seq))
    db.conn.execute("UPDATE documents SET seq = seq - ? + ?, updated_at = ? WHERE dossier_id = ?"
                    " AND seq >= ?", (far, delta, now(), dossier_id, far))


def insert_document_at(db: Database, dossier_id: int, seq: int) -> int:
    """A new empty document with this seq (shift the later ones first); returns its id."""
    stamp = now()
    cursor = db.conn.execute("INSERT INTO documents (dossier_id, seq, fields, created_at, updated_at)"
                             " VALUES (?, ?, '{}', ?, ?)", (dossier_id, seq, stamp, stamp))
    return int(cursor.lastrowid)


def delete_empty_document(db: Database, document_id: int) -> None:
    """Remove a document that no longer holds pages."""
    if db.conn.execute("SELECT 1 FROM pages WHERE document_id = ?", (document_id,)).fetchone():
        raise ValueError(f"document {document_id} still holds pages")
    db.conn.execute("DELETE FROM documents WHERE id = ?", (document_id,))


def set_page_edit(db: Database, page_id: int, *, rotation: int | None = None,
                  manual_quad: dict[str, Any] | None = None, clear_quad: bool = False) -> None:
    """Store a turn or hand-set corners and mark the page as waiting to be processed again
    (its old master and text stay shown until then); queue its job in the same transaction."""
    changes: dict[str, Any] = {"state": "new", "error": None, "updated_at": now()}
    if rotation is not None:
        changes["rotation"] = rotation
    if manual_quad is not None or clear_quad:
        changes["manual_quad"] = json.dumps(manual_quad) if manual_quad is not None else None
    assignments = ", ".join(f"{column} = ?" for column in changes)
    db.conn.execute(f"UPDATE pages SET {assignments} WHERE id = ?", [*changes.values(), page_id])


def remove_page(db: Database, page_id: int, dossier_id: int, actor: str) -> dict[str, Any]:
    """Take a page out of its document: its row, with its text correction (which the page
    row's deletion cascades to), is kept in `deleted_pages` (the raw capture stays, so it can
    be put back: `put_back_page`), its search entry and job go. Returns the kept page row. The
    caller places the document's remaining pages."""
    row = next(iter(db.query("SELECT * FROM pages WHERE id = ?", [page_id])))
    kept = {**row, "text_correction": correction_of(db, page_id)}
    db.conn.execute(
        "INSERT INTO deleted_pages (page_id, capture_id, dossier_id, page, deleted_by, deleted_at)"
        " VALUES (?, ?, ?, ?, ?, ?)", (page_id, row["capture_id"], dossier_id,
                                      json.dumps(kept, ensure_ascii=False), actor, now()))
    db.conn.execute("DELETE FROM page_text WHERE rowid = ?", (page_id,))
    db.conn.execute("DELETE FROM jobs WHERE subject = ?", (f"page:{page_id}",))
    db.conn.execute("DELETE FROM pages WHERE id = ?", (page_id,))
    return row


def deleted_page(db: Database, deleted_id: int) -> dict[str, Any] | None:
    """A deleted page as `remove_page` kept it (`page`: its row and `text_correction`)."""
    rows = list(db.query("SELECT * FROM deleted_pages WHERE id = ?", [deleted_id]))
    return {**rows[0], "page": json.loads(rows[0]["page"])} if rows else None


def deleted_pages_of(db: Database, dossier_id: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The dossier's `limit` most recently deleted pages, newest first (id, page_id, who and
    when, the document id and position they had), and how many it has in all."""
    rows = list(db.query(
        "SELECT id, page_id, deleted_by, deleted_at, json_extract(page, '$.document_id') AS doc,"
        " json_extract(page, '$.position') AS position FROM deleted_pages WHERE dossier_id = ?"
        " ORDER BY id DESC LIMIT ?", [dossier_id, limit]))
    total = db.conn.execute("SELECT count(*) FROM deleted_pages WHERE dossier_id = ?",
                            (dossier_id,)).fetchone()[0]
    return rows, int(total)


def deleted_page_source(db: Database, deleted_id: int) -> dict[str, Any] | None:
    """A deleted page as a thumbnail reads it: the row it was, with its dossier id and its
    capture's raw blob and media type; None when there is no such deleted page."""
    kept = deleted_page(db, deleted_id)
    if kept is None:
        return None
    capture = next(iter(db.query("SELECT raw_sha256, media_type FROM captures WHERE id = ?",
                                 [kept["capture_id"]])), {})
    return {**kept["page"], **capture, "dossier_id": kept["dossier_id"]}


def put_back_page(db: Database, deleted_id: int, document_id: int) -> int:
    """Put a deleted page back as the last page of `document_id`, with its text correction,
    and forget it as deleted; returns its id: its old one unless a new page took that id
    meanwhile. The caller checks the document belongs to the page's dossier."""
    kept = deleted_page(db, deleted_id)
    if kept is None:
        raise ValueError(f"no deleted page {deleted_id}")
    row = dict(kept["page"])
    correction = row.pop("text_correction", None)
    columns = [info[1] for info in db.conn.execute("PRAGMA table_info(pages)")]
    if db.conn.execute("SELECT 1 FROM pages WHERE id = ?", (row["id"],)).fetchone():
        columns.remove("id")  # SQLite reuses the highest id: a page added since may hold it
    last = db.conn.execute("SELECT coalesce(max(position), 0) FROM pages WHERE document_id = ?",
                           (document_id,)).fetchone()[0]
    row |= {"document_id": document_id, "position": last + 1, "sheet": 1, "updated_at": now()}
    names = [column for column in columns if column in row]
    page_id = int(db.conn.execute(
        f"INSERT INTO pages ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
        [row[column] for column in names]).lastrowid)
    renumber_sheets(db, document_id)
    if correction is not None:
        restore_correction(db, page_id, correction)
    db.conn.execute("DELETE FROM deleted_pages WHERE id = ?", (deleted_id,))
    return page_id


def dossier_pages(db: Database, dossier_id: int, offset: int, limit: int) -> list[dict[str, Any]]:
    """A window of the dossier's pages in reading order (documents by seq, pages by position),
    each with its document's id and seq: one screen of the page grid."""
    rows = db.query(
        "SELECT p.*, c.raw_sha256, c.media_type, d.seq AS document_seq FROM pages p"
        " JOIN documents d ON d.id = p.document_id JOIN captures c ON c.id = p.capture_id"
        " WHERE d.dossier_id = ? ORDER BY d.seq, p.position LIMIT ? OFFSET ?",
        [dossier_id, limit, offset])
    return [_decode(row) for row in rows]


def dossier_page_count(db: Database, dossier_id: int) -> int:
    return int(db.conn.execute("SELECT count(*) FROM pages p JOIN documents d ON d.id ="
                               " p.document_id WHERE d.dossier_id = ?", (dossier_id,)).fetchone()[0])


def pages_before(db: Database, dossier_id: int, document_seq: int, position: int) -> int:
    """How many of the dossier's pages come before `position` of document `document_seq`."""
    return int(db.conn.execute(
        "SELECT count(*) FROM pages p JOIN documents d ON d.id = p.document_id WHERE"
        " d.dossier_id = ? AND (d.seq < ? OR (d.seq = ? AND p.position < ?))",
        (dossier_id, document_seq, document_seq, position)).fetchone()[0])
