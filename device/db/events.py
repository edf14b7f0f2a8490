"""The append-only audit trail: who did what to which object, and when."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from device.db.timeutil import now


def record_event(db: Database, actor: str, action: str, object_type: str, object_id: str | int,
                 details: dict[str, Any] | None = None) -> int:
    """Append one event; call it inside the transaction that made the change it describes."""
    cursor = db.conn.execute(
        "INSERT INTO events (at, actor, action, object_type, object_id, details) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (now(), actor, action, object_type, str(object_id),
         json.dumps(details or {}, ensure_ascii=False, sort_keys=True)))
    return int(cursor.lastrowid)


def events_for(db: Database, object_type: str | None = None, object_id: str | int | None = None,
               limit: int = 1000) -> list[dict[str, Any]]:
    """Events, oldest first, optionally of one object."""
    where, params = [], []
    if object_type is not None:
        where.append("object_type = ?")
        params.append(object_type)
    if object_id is not None:
        where.append("object_id = ?")
        params.append(str(object_id))
    sql = "SELECT * FROM events" + (" WHERE " + " AND ".join(where) if where else "")
    rows = db.query(sql + " ORDER BY id LIMIT ?", [*params, limit])
    return [{**row, "details": json.loads(row["details"])} for row in rows]


def _dossier_objects_sql() -> str:
    """Events about a dossier: the dossier itself, its documents, their pages, its packages."""
    return ("((object_type = 'dossier' AND object_id = CAST(? AS TEXT))"
            " OR (object_type = 'document' AND object_id IN"
            "  (SELECT CAST(id AS TEXT) FROM documents WHERE dossier_id = ?))"
            " OR (object_type = 'page' AND object_id IN (SELECT CAST(p.id AS TEXT) FROM pages p"
            "  JOIN documents d ON d.id = p.document_id WHERE d.dossier_id = ?))"
            " OR (object_type = 'package' AND object_id IN"
            "  (SELECT sha256 FROM packages WHERE dossier_id = ?)))")


def events_page(db: Database, *, actor: str | None = None, dossier_id: int | None = None,
                offset: int = 0, limit: int = 50) -> tuple[list[dict[str, Any]], int]:
    """One page of the audit trail, newest first, optionally of one actor and/or one dossier
    (with its documents, pages and packages); and how many events match in all."""
    where, params = [], []
    if actor is not None:
        where.append("actor = ?")
        params.append(actor)
    if dossier_id is not None:
        where.append(_dossier_objects_sql())
        params += [dossier_id] * 4
    clause = " WHERE " + " AND ".join(where) if where else ""
    total = int(db.conn.execute("SELECT count(*) FROM events" + clause, params).fetchone()[0])
    rows = db.query("SELECT * FROM events" + clause + " ORDER BY id DESC LIMIT ? OFFSET ?",
                    [*params, limit, offset])
    return [{**row, "details": json.loads(row["details"])} for row in rows], total


def event_actors(db: Database) -> list[str]:
    """Every actor named in the audit trail, for a filter's choices."""
    return [row[0] for row in db.conn.execute("SELECT DISTINCT actor FROM events ORDER BY actor")]
