"""Queries on `settings`: values changed from the web UI that override sohoa.toml."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from device.db.timeutil import now


def setting_rows(db: Database, prefix: str = "") -> dict[str, dict[str, Any]]:
    """Stored overrides whose key starts with `prefix`: key -> {value, updated_by, updated_at}."""
    rows = db.query("SELECT * FROM settings WHERE substr(key, 1, ?) = ? ORDER BY key",
                    [len(prefix), prefix])
    return {row["key"]: {"value": json.loads(row["value"]), "updated_by": row["updated_by"],
                         "updated_at": row["updated_at"]} for row in rows}


def store_setting(db: Database, key: str, value: Any, actor: str) -> None:
    """Set one override; call inside the transaction that records its audit event."""
    db.conn.execute(
        "INSERT INTO settings (key, value, updated_by, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
        " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        (key, json.dumps(value, ensure_ascii=False), actor, now()))


def delete_setting(db: Database, key: str) -> bool:
    """Drop one override (sohoa.toml's value applies again); whether there was one."""
    return db.conn.execute("DELETE FROM settings WHERE key = ?", (key,)).rowcount > 0
