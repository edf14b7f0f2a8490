"""Queries on the hub's catalog, named for intent: devices, codes, uploads, packages, reports, staff."""

from __future__ import annotations

import json
from typing import Any

from device.db.connection import Database
from device.db.timeutil import now


def _one(db: Database, sql: str, params: list[Any]) -> dict[str, Any] | None:
    rows = list(db.query(sql, params))
    return rows[0] if rows else None


def record_event(db: Database, actor: str, action: str, object_id: str,
                 details: dict[str, Any] | None = None) -> None:
    db.conn.execute("INSERT INTO events (at, actor, action, object_id, details) VALUES (?,?,?,?,?)",
                    (now(), actor, action, object_id,
                     json.dumps(details or {}, ensure_ascii=False)))


# devices and enrollment codes

def ensure_device(db: Database, device_id: str) -> None:
    db.conn.execute("INSERT OR IGNORE INTO devices (id, created_at) VALUES (?, ?)",
                    (device_id, now()))


def device(db: Database, device_id: str) -> dict[str, Any] | None:
    return _one(db, "SELECT * FROM devices WHERE id = ?", [device_id])


def device_by_token_hash(db: Database, token_hash: str) -> dict[str, Any] | None:
    return _one(db, "SELECT * FROM devices WHERE token_hash = ?", [token_hash])


def set_device_token(db: Database, device_id: str, token_hash: str, box_name: str,
                     version: str) -> None:
    db.conn.execute("UPDATE devices SET token_hash = ?, box_name = ?, version = ?, revoked = 0,"
                    " enrolled_at = ?, last_contact = ? WHERE id = ?",
                    (token_hash, box_name, version, now(), now(), device_id))


def revoke_device(db: Database, device_id: str) -> bool:
    cursor = db.conn.execute("UPDATE devices SET revoked = 1, token_hash = NULL WHERE id = ?",
                             (device_id,))
    db.conn.execute("UPDATE enrollment_codes SET used_at = ? WHERE device_id = ? AND used_at IS NULL",
                    (now(), device_id))
    return cursor.rowcount == 1


def touch_device(db: Database, device_id: str) -> None:
    db.conn.execute("UPDATE devices SET last_contact = ? WHERE id = ?", (now(), device_id))


def add_enrollment_code(db: Database, code_hash: str, device_id: str, expires_at: str) -> None:
    db.conn.execute("INSERT INTO enrollment_codes (code_hash, device_id, created_at, expires_at)"
                    " VALUES (?, ?, ?, ?)", (code_hash, device_id, now(), expires_at))


def enrollment_code(db: Database, code_hash: str) -> dict[str, Any] | None:
    return _one(db, "SELECT * FROM enrollment_codes WHERE code_hash = ?", [code_hash])


def use_enrollment_code(db: Database, code_hash: str, at: str) -> bool:
    """Mark a code used; False when it was used already (the single-use guard)."""
    cursor = db.conn.execute("UPDATE enrollment_codes SET used_at = ? WHERE code_hash = ?"
                             " AND used_at IS NULL AND expires_at > ?", (at, code_hash, at))
    return cursor.rowcount == 1


def device_summaries(db: Database) -> list[dict[str, Any]]:
    """Each device with its package counts, for the dashboard and `sohoa hub devices`."""
    mine = "FROM receipts r JOIN packages p ON p.sha256 = r.sha256 WHERE r.device_id = d.id"
    return list(db.query(f"""
        SELECT d.*,
          (SELECT count(*) {mine} AND p.verdict = 'accepted') AS accepted,
          (SELECT count(*) {mine} AND p.verdict = 'rejected') AS rejected,
          (SELECT count(DISTINCT p.file_code) {mine} AND p.verdict = 'accepted') AS dossiers,
          (SELECT coalesce(sum(p.pages), 0) {mine} AND p.verdict = 'accepted') AS pages
        FROM devices d ORDER BY d.id"""))


# uploads

def create_upload(db: Database, row: dict[str, Any]) -> None:
    stamp = now()
    db.conn.execute(
        "INSERT INTO uploads (id, device_id, length, sha256, package_id, filename, metadata,"
        " created_at, updated_at, expires_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (row["id"], row["device_id"], row["length"], row["sha256"], row["package_id"],
         row["filename"], row["metadata"], stamp, stamp, row["expires_at"]))


def upload(db: Database, upload_id: str) -> dict[str, Any] | None:
    return _one(db, "SELECT * FROM uploads WHERE id = ?", [upload_id])


def advance_upload(db: Database, upload_id: str, old: int, new: int, expires_at: str) -> bool:
    """Commit the offset from `old` to `new`; False when another request moved it first."""
    cursor = db.conn.execute(
        "UPDATE uploads SET received = ?, updated_at = ?, expires_at = ? WHERE id = ?"
        " AND received = ? AND state = 'receiving'", (new, now(), expires_at, upload_id, old))
    return cursor.rowcount == 1


def set_upload_state(db: Database, upload_id: str, state: str) -> None:
    db.conn.execute("UPDATE uploads SET state = ?, updated_at = ? WHERE id = ?",
                    (state, now(), upload_id))


def expired_uploads(db: Database, at: str) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM uploads WHERE state = 'receiving' AND expires_at <= ?",
                         [at]))


# packages (the bytes, judged and stored once by SHA-256) and receipts (one per device)

def package(db: Database, sha256: str) -> dict[str, Any] | None:
    """What the hub knows of these bytes: their verdict, reasons and counts, or None."""
    row = _one(db, "SELECT * FROM packages WHERE sha256 = ?", [sha256])
    if row:
        row["reasons"] = json.loads(row["reasons"])
    return row


def insert_package(db: Database, row: dict[str, Any]) -> bool:
    """Record the verdict on a package's bytes; False when the SHA-256 was already recorded."""
    cursor = db.conn.execute(
        "INSERT OR IGNORE INTO packages (sha256, package_id, size, device_id, source, verdict,"
        " reasons, kind, file_code, documents, pages, stored, received_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (row["sha256"], row["package_id"], row["size"], row["device_id"], row["source"],
         row["verdict"], json.dumps(row["reasons"], ensure_ascii=False), row.get("kind"),
         row.get("file_code"), row.get("documents", 0), row.get("pages", 0),
         int(row["stored"]), row["received_at"]))
    return cursor.rowcount == 1


def insert_receipt(db: Database, device_id: str, source: str,
                   document: dict[str, Any]) -> bool:
    """Keep a device's signed receipt; False when that device already holds one for the bytes."""
    body = document["receipt"]
    cursor = db.conn.execute(
        "INSERT OR IGNORE INTO receipts (sha256, device_id, package_id, source, received_at,"
        " document) VALUES (?,?,?,?,?,?)",
        (body["sha256"], device_id, body["package_id"], source, body["received_at"],
         json.dumps(document, ensure_ascii=False)))
    return cursor.rowcount == 1


def receipt(db: Database, sha256: str, device_id: str) -> dict[str, Any] | None:
    """The signed receipt `device_id` was given for these bytes; None for any other device."""
    row = _one(db, "SELECT document FROM receipts WHERE sha256 = ? AND device_id = ?",
               [sha256, device_id])
    return json.loads(row["document"]) if row else None


def packages(db: Database, device_id: str | None = None) -> list[dict[str, Any]]:
    """One row per receipt: the device, its package id and time, the bytes' verdict and counts."""
    sql = ("SELECT p.sha256, r.package_id, p.size, r.device_id, r.source, p.verdict, p.reasons,"
           " p.kind, p.file_code, p.documents, p.pages, p.stored, r.received_at"
           " FROM receipts r JOIN packages p ON p.sha256 = r.sha256")
    params: list[Any] = []
    if device_id is not None:
        sql, params = sql + " WHERE r.device_id = ?", [device_id]
    rows = list(db.query(sql + " ORDER BY r.received_at DESC", params))
    for row in rows:
        row["reasons"] = json.loads(row["reasons"])
    return rows


# reports from devices

def add_report(db: Database, device_id: str, health: dict[str, Any],
               dossiers: list[Any]) -> None:
    db.conn.execute("INSERT INTO reports (device_id, at, health, dossiers) VALUES (?,?,?,?)",
                    (device_id, now(), json.dumps(health, ensure_ascii=False),
                     json.dumps(dossiers, ensure_ascii=False)))


def latest_report(db: Database, device_id: str) -> dict[str, Any] | None:
    row = _one(db, "SELECT * FROM reports WHERE device_id = ? ORDER BY id DESC LIMIT 1",
               [device_id])
    if row:
        row["health"], row["dossiers"] = json.loads(row["health"]), json.loads(row["dossiers"])
    return row


# staff

def insert_staff(db: Database, username: str, password_hash: str) -> int:
    cursor = db.conn.execute("INSERT INTO staff (username, password_hash, created_at)"
                             " VALUES (?, ?, ?)", (username, password_hash, now()))
    return int(cursor.lastrowid)


def staff_by_name(db: Database, username: str) -> dict[str, Any] | None:
    return _one(db, "SELECT * FROM staff WHERE username = ?", [username])


def set_staff_password(db: Database, staff_id: int, password_hash: str) -> None:
    db.conn.execute("UPDATE staff SET password_hash = ? WHERE id = ?", (password_hash, staff_id))
