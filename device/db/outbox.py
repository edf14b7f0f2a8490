"""The sync outbox: one `uploads` row per package on its way to the hub, and the enrollment.

An upload moves queued → uploading (tus URL and committed offset stored after every chunk) →
uploaded (last byte sent) → accepted | rejected (a verified receipt stored). `held` is a
package that must not travel over a network (mode 03, Mật); it leaves only by USB export.
"""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from device.db.connection import transaction
from device.db.timeutil import now

SENDABLE = ("queued", "uploading", "uploaded")
DONE = ("accepted", "rejected")


def queue_upload(db: Database, *, sha256: str, size: int, package_id: str, local_path: str,
                 dossier_id: int | None, network_allowed: bool) -> int:
    """Put a package in the outbox (once: a package already there keeps its row); its id.
    `network_allowed` is fixed by the version the package holds (False for Mật)."""
    stamp = now()
    db.conn.execute(
        "INSERT INTO uploads (sha256, size, package_id, dossier_id, local_path, network_allowed,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
        (sha256, size, package_id, dossier_id, local_path, int(bool(network_allowed)), stamp, stamp))
    return int(db.conn.execute("SELECT id FROM uploads WHERE sha256 = ?", (sha256,)).fetchone()[0])


def queue_package(box: Any, package: Any) -> int:
    """Put a built package (a PackageInfo: path, sha256, size, package_id, network_allowed and
    its dossier's file_code or dossier_id) in the outbox; called when a package is built.
    Idempotent. A package that does not say it may travel is held."""
    dossier_id = getattr(package, "dossier_id", None)
    file_code = getattr(package, "file_code", None)
    if dossier_id is None and file_code:
        row = box.db.conn.execute("SELECT id FROM dossiers WHERE file_code = ?",
                                  (file_code,)).fetchone()
        dossier_id = row[0] if row else None
    with transaction(box.db):
        return queue_upload(box.db, sha256=package.sha256, size=int(package.size),
                            package_id=str(package.package_id), local_path=str(package.path),
                            dossier_id=dossier_id,
                            network_allowed=bool(getattr(package, "network_allowed", False)))


def queue_built_packages(db: Database, data_dir: str, kind: str = "aip") -> int:
    """Put every recorded package of `kind` not yet in the outbox into it (the agent's sweep,
    so a package built by any process is sent); returns how many were added."""
    stamp = now()
    with transaction(db):
        cursor = db.conn.execute(
            "INSERT INTO uploads (sha256, size, package_id, dossier_id, local_path, network_allowed,"
            " created_at, updated_at) SELECT p.sha256, p.size, p.package_id, p.dossier_id,"
            " ? || '/' || p.relpath, p.network_allowed, ?, ? FROM packages p WHERE p.kind = ?"
            " AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.sha256 = p.sha256)",
            (str(data_dir).rstrip("/"), stamp, stamp, kind))
    return cursor.rowcount


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    row["receipt"] = json.loads(row["receipt"]) if row.get("receipt") else None
    return row


_SELECT = ("SELECT u.*, d.file_code FROM uploads u LEFT JOIN dossiers d ON d.id = u.dossier_id")


def upload_by_sha256(db: Database, sha256: str) -> dict[str, Any] | None:
    rows = list(db.query(_SELECT + " WHERE u.sha256 = ?", [sha256]))
    return _decode(rows[0]) if rows else None


def upload_by_id(db: Database, upload_id: int) -> dict[str, Any] | None:
    rows = list(db.query(_SELECT + " WHERE u.id = ?", [upload_id]))
    return _decode(rows[0]) if rows else None


def all_uploads(db: Database) -> list[dict[str, Any]]:
    """Every upload, smallest first (the order they are sent in)."""
    return [_decode(row) for row in db.query(_SELECT + " ORDER BY u.size, u.id")]


def uploads_to_send(db: Database, at: float) -> list[dict[str, Any]]:
    """Uploads not yet acknowledged and not waiting out a back-off, smallest first."""
    marks = ",".join("?" * len(SENDABLE))
    return [_decode(row) for row in db.query(
        _SELECT + f" WHERE u.state IN ({marks}) AND u.next_attempt_at <= ? ORDER BY u.size, u.id",
        [*SENDABLE, at])]


def unacknowledged_uploads(db: Database) -> list[dict[str, Any]]:
    """Every upload without an accepted or rejected receipt (held ones included)."""
    marks = ",".join("?" * len(DONE))
    return [_decode(row) for row in db.query(
        _SELECT + f" WHERE u.state NOT IN ({marks}) ORDER BY u.size, u.id", list(DONE))]


def _update(db: Database, upload_id: int, **changes: Any) -> None:
    changes["updated_at"] = now()
    assignments = ", ".join(f"{column} = ?" for column in changes)
    with transaction(db):
        db.conn.execute(f"UPDATE uploads SET {assignments} WHERE id = ?",
                        [*changes.values(), upload_id])


def record_upload_url(db: Database, upload_id: int, url: str) -> None:
    """A tus upload was created for this package: remember where, from offset 0."""
    _update(db, upload_id, tus_url=url, upload_offset=0, state="uploading")


def record_offset(db: Database, upload_id: int, offset: int) -> None:
    """The hub has committed `offset` bytes (stored after every chunk, so a reboot resumes)."""
    _update(db, upload_id, upload_offset=offset, state="uploading")


def forget_upload_url(db: Database, upload_id: int) -> None:
    """The hub no longer knows the tus upload (expired, deleted): start a new one next time."""
    _update(db, upload_id, tus_url=None, upload_offset=0, state="queued")


def mark_uploaded(db: Database, upload_id: int, size: int) -> None:
    """Every byte is at the hub; the receipt is still to be fetched and verified."""
    _update(db, upload_id, upload_offset=size, state="uploaded", attempts=0, last_error=None)


def mark_held(db: Database, upload_id: int, reason: str) -> None:
    """The package must not leave over a network; it waits for a USB export."""
    _update(db, upload_id, state="held", last_error=reason)


def record_receipt(db: Database, upload_id: int, receipt: dict[str, Any], verdict: str) -> None:
    """Store a receipt already verified with the pinned key; the upload is accepted or rejected."""
    if verdict not in DONE:
        raise ValueError(f"unknown verdict {verdict!r}")
    _update(db, upload_id, receipt=json.dumps(receipt, ensure_ascii=False), state=verdict,
            receipt_verified_at=now(), last_error=None, next_attempt_at=0)


def note_failure(db: Database, upload_id: int, error: str, retry_at: float) -> None:
    """A failed attempt: counted, its reason kept, and not retried before `retry_at`."""
    with transaction(db):
        db.conn.execute(
            "UPDATE uploads SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,"
            " updated_at = ? WHERE id = ?", (error[:2000], retry_at, now(), upload_id))


def clear_backoff(db: Database, upload_id: int) -> None:
    _update(db, upload_id, attempts=0, next_attempt_at=0)


def record_second_copy(db: Database, upload_id: int, path: str) -> None:
    _update(db, upload_id, second_copy_path=path)


def mark_local_deleted(db: Database, upload_id: int) -> None:
    """Retention removed the local package file (the receipt and row stay)."""
    _update(db, upload_id, local_deleted_at=now())


def outbox_figures(db: Database) -> dict[str, Any]:
    """Counts per state, packages still to acknowledge and their bytes, the last error."""
    counts = {state: count for state, count in
              db.conn.execute("SELECT state, count(*) FROM uploads GROUP BY state")}
    pending = db.conn.execute(
        "SELECT count(*), coalesce(sum(size - upload_offset), 0) FROM uploads"
        " WHERE state NOT IN ('accepted', 'rejected')").fetchone()
    last = db.conn.execute("SELECT last_error FROM uploads WHERE last_error IS NOT NULL"
                           " ORDER BY updated_at DESC LIMIT 1").fetchone()
    return {"states": counts, "queue_depth": pending[0], "bytes_pending": pending[1],
            "last_error": last[0] if last else None}


def set_sync_values(db: Database, values: dict[str, str]) -> None:
    """Store enrollment and agent state (hub URL, device id, pinned key, last contact…)."""
    stamp = now()
    with transaction(db):
        for key, value in values.items():
            db.conn.execute(
                "INSERT INTO sync_state (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at", (key, value, stamp))


def sync_values(db: Database) -> dict[str, str]:
    return {key: value for key, value in db.conn.execute("SELECT key, value FROM sync_state")}
