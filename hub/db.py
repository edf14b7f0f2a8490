"""The hub's own SQLite catalog: opening it (WAL, like the box's) and its ordered migrations."""

from __future__ import annotations

import logging
from pathlib import Path

from device.db.connection import Database, open_database
from device.db.migrations import migrate as run_migrations

log = logging.getLogger(__name__)

MIGRATIONS: tuple[tuple[str, str], ...] = (
    ("0001_hub_catalog", """
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    box_name TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT '',
    token_hash TEXT UNIQUE,
    revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
    enrolled_at TEXT,
    last_contact TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE enrollment_codes (
    code_hash TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices(id),
    length INTEGER NOT NULL CHECK (length > 0),
    received INTEGER NOT NULL DEFAULT 0 CHECK (received >= 0 AND received <= length),
    sha256 TEXT NOT NULL,
    package_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    metadata TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'receiving'
        CHECK (state IN ('receiving', 'done', 'terminated', 'expired')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX uploads_expiry ON uploads (state, expires_at);
CREATE TABLE packages (
    sha256 TEXT PRIMARY KEY,
    package_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    device_id TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('tus', 'usb')),
    verdict TEXT NOT NULL CHECK (verdict IN ('accepted', 'rejected')),
    reasons TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(reasons)),
    kind TEXT,
    file_code TEXT,
    documents INTEGER NOT NULL DEFAULT 0,
    pages INTEGER NOT NULL DEFAULT 0,
    stored INTEGER NOT NULL CHECK (stored IN (0, 1)),
    received_at TEXT NOT NULL
);
CREATE INDEX packages_device ON packages (device_id, received_at);
CREATE TABLE receipts (
    sha256 TEXT PRIMARY KEY REFERENCES packages(sha256),
    document TEXT NOT NULL CHECK (json_valid(document))
);
CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices(id),
    at TEXT NOT NULL,
    health TEXT NOT NULL CHECK (json_valid(health)),
    dossiers TEXT NOT NULL CHECK (json_valid(dossiers))
);
CREATE INDEX reports_device ON reports (device_id, id);
CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at TEXT NOT NULL
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object_id TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details))
);
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
"""),
    # A receipt belongs to one device: the bytes are judged and stored once by SHA-256
    # (`packages`), but each device that sent them gets its own signed receipt, and sees only it.
    ("0002_receipts_per_device", """
CREATE TABLE device_receipts (
    sha256 TEXT NOT NULL REFERENCES packages(sha256),
    device_id TEXT NOT NULL,
    package_id TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('tus', 'usb')),
    received_at TEXT NOT NULL,
    document TEXT NOT NULL CHECK (json_valid(document)),
    PRIMARY KEY (sha256, device_id)
);
INSERT INTO device_receipts (sha256, device_id, package_id, source, received_at, document)
    SELECT r.sha256, p.device_id, p.package_id, p.source, p.received_at, r.document
    FROM receipts r JOIN packages p ON p.sha256 = r.sha256;
DROP TABLE receipts;
ALTER TABLE device_receipts RENAME TO receipts;
CREATE INDEX receipts_device ON receipts (device_id, received_at);
"""),
)


def open_catalog(path: Path, *, busy_timeout_ms: int = 10_000, migrated: bool = True) -> Database:
    """The hub's catalog at `path`; WAL, FULL sync, foreign keys, busy timeout.

    `migrated=False` skips the migration check (it takes the write lock): for per-request
    connections once the server has migrated at start."""
    db = open_database(path, busy_timeout_ms=busy_timeout_ms, migrate=False)
    if migrated:
        migrate(db)
    return db


def migrate(db: Database) -> list[str]:
    """Apply every hub catalog migration not yet applied (the box's migration runner)."""
    return run_migrations(db, MIGRATIONS)
