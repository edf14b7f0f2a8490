"""Queries on fonds, dossiers and documents."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from device.db.timeutil import now


def _decode(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is not None and "fields" in row:
        row = {**row, "fields": json.loads(row["fields"])}
    return row


def _encode(fields: dict[str, Any]) -> str:
    return json.dumps(fields, ensure_ascii=False, sort_keys=True)


def fonds_by_key(db: Database, agency_id: str, code: str) -> dict[str, Any] | None:
    """The fonds `code` of an agency, or None."""
    rows = list(db.query("SELECT * FROM fonds WHERE agency_id = ? AND code = ?", [agency_id, code]))
    return rows[0] if rows else None


def insert_fonds(db: Database, agency_id: str, code: str, name: str, archive_code: str) -> int:
    """A new fonds of an agency; returns its id."""
    cursor = db.conn.execute(
        "INSERT INTO fonds (code, name, agency_id, archive_code, created_at) VALUES (?, ?, ?, ?, ?)",
        (code, name, agency_id, archive_code, now()))
    return int(cursor.lastrowid)


def insert_dossier(db: Database, file_code: str, fonds_id: int, fields: dict[str, Any],
                   network_allowed: bool) -> int:
    """A new draft dossier; returns its id."""
    stamp = now()
    cursor = db.conn.execute(
        "INSERT INTO dossiers (file_code, fonds_id, fields, network_allowed, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (file_code, fonds_id, _encode(fields), int(network_allowed), stamp, stamp))
    return int(cursor.lastrowid)


_DOSSIER_SELECT = (
    "SELECT d.*, f.code AS fonds_code, f.name AS fonds_name, f.agency_id, f.archive_code "
    "FROM dossiers d JOIN fonds f ON f.id = d.fonds_id")


def dossier_by_code(db: Database, file_code: str) -> dict[str, Any] | None:
    """The dossier with its fonds' agency and archive, or None."""
    rows = list(db.query(_DOSSIER_SELECT + " WHERE d.file_code = ?", [file_code]))
    return _decode(rows[0]) if rows else None


def dossier_by_id(db: Database, dossier_id: int) -> dict[str, Any] | None:
    rows = list(db.query(_DOSSIER_SELECT + " WHERE d.id = ?", [dossier_id]))
    return _decode(rows[0]) if rows else None


def list_dossiers(db: Database) -> list[dict[str, Any]]:
    """Every dossier with its counts of documents and pages, newest first."""
    sql = (_DOSSIER_SELECT.replace("SELECT d.*,", "SELECT d.*, "
           "(SELECT count(*) FROM documents WHERE dossier_id = d.id) AS document_count, "
           "(SELECT count(*) FROM pages p JOIN documents x ON x.id = p.document_id "
           "WHERE x.dossier_id = d.id) AS page_count,") + " ORDER BY d.id DESC")
    return [_decode(row) for row in db.query(sql)]


def update_dossier(db: Database, dossier_id: int, *, fields: dict[str, Any] | None = None,
                   file_code: str | None = None, state: str | None = None,
                   version: int | None = None, network_allowed: bool | None = None) -> None:
    """Change the given columns of a dossier."""
    changes: dict[str, Any] = {"updated_at": now()}
    if fields is not None:
        changes["fields"] = _encode(fields)
    if file_code is not None:
        changes["file_code"] = file_code
    if state is not None:
        changes["state"] = state
    if version is not None:
        changes["version"] = version
    if network_allowed is not None:
        changes["network_allowed"] = int(network_allowed)
    assignments = ", ".join(f"{column} = ?" for column in changes)
    db.conn.execute(f"UPDATE dossiers SET {assignments} WHERE id = ?", [*changes.values(), dossier_id])


def any_secret_document(db: Database, dossier_id: int, secret_mode: str) -> bool:
    """Whether a document of the dossier has its own access mode set to `secret_mode`."""
    return db.conn.execute(
        "SELECT 1 FROM documents WHERE dossier_id = ? AND json_extract(fields, '$.mode.value') = ?",
        (dossier_id, secret_mode)).fetchone() is not None


def insert_document(db: Database, dossier_id: int, fields: dict[str, Any]) -> tuple[int, int]:
    """A new document at the end of the dossier; returns (id, seq)."""
    seq = db.conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM documents WHERE dossier_id = ?",
                          (dossier_id,)).fetchone()[0]
    stamp = now()
    cursor = db.conn.execute(
        "INSERT INTO documents (dossier_id, seq, fields, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        (dossier_id, seq, _encode(fields), stamp, stamp))
    return int(cursor.lastrowid), int(seq)


def documents_of(db: Database, dossier_id: int) -> list[dict[str, Any]]:
    """The dossier's documents in order, each with its page and sheet counts."""
    rows = db.query(
        "SELECT d.*, (SELECT count(*) FROM pages WHERE document_id = d.id) AS page_count, "
        "(SELECT count(DISTINCT sheet) FROM pages WHERE document_id = d.id) AS sheet_count "
        "FROM documents d WHERE dossier_id = ? ORDER BY seq", [dossier_id])
    return [_decode(row) for row in rows]


def document_by_seq(db: Database, dossier_id: int, seq: int) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM documents WHERE dossier_id = ? AND seq = ?", [dossier_id, seq]))
    return _decode(rows[0]) if rows else None


def update_document(db: Database, document_id: int, fields: dict[str, Any]) -> None:
    db.conn.execute("UPDATE documents SET fields = ?, updated_at = ? WHERE id = ?",
                    (_encode(fields), now(), document_id))
