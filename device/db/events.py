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
