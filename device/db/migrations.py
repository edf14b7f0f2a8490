"""Ordered, named, transactional schema migrations; each runs once and is recorded."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator

from sqlite_utils import Database

from device.db.connection import transaction
from device.db.timeutil import now

log = logging.getLogger(__name__)

_STATES = "'draft','in_review','approved','returned','signed','packaged','sent','accepted','rejected'"

MIGRATIONS: tuple[tuple[str, str], ...] = (
    ("0001_records", f"""
CREATE TABLE fonds (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    agency_id TEXT NOT NULL,
    archive_code TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (agency_id, code)
);
CREATE TABLE dossiers (
    id INTEGER PRIMARY KEY,
    file_code TEXT NOT NULL UNIQUE,
    fonds_id INTEGER NOT NULL REFERENCES fonds(id),
    state TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ({_STATES})),
    version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    fields TEXT NOT NULL DEFAULT '{{}}' CHECK (json_valid(fields)),
    network_allowed INTEGER NOT NULL DEFAULT 1 CHECK (network_allowed IN (0, 1)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    dossier_id INTEGER NOT NULL REFERENCES dossiers(id),
    seq INTEGER NOT NULL CHECK (seq >= 1),
    fields TEXT NOT NULL DEFAULT '{{}}' CHECK (json_valid(fields)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (dossier_id, seq)
);
CREATE TABLE captures (
    id INTEGER PRIMARY KEY,
    dossier_id INTEGER REFERENCES dossiers(id),
    raw_sha256 TEXT NOT NULL,
    media_type TEXT NOT NULL,
    source TEXT NOT NULL,
    original_name TEXT,
    width INTEGER,
    height INTEGER,
    frames INTEGER NOT NULL DEFAULT 1 CHECK (frames >= 1),
    qc TEXT NOT NULL DEFAULT '{{}}' CHECK (json_valid(qc)),
    created_at TEXT NOT NULL
);
CREATE INDEX captures_raw ON captures (raw_sha256);
CREATE TABLE pages (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    capture_id INTEGER NOT NULL REFERENCES captures(id),
    position INTEGER NOT NULL,
    frame INTEGER NOT NULL DEFAULT 0 CHECK (frame >= 0),
    region TEXT CHECK (region IS NULL OR json_valid(region)),
    side TEXT NOT NULL DEFAULT 'recto' CHECK (side IN ('recto', 'verso')),
    sheet INTEGER NOT NULL CHECK (sheet >= 1),
    state TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'processed', 'failed')),
    master_sha256 TEXT,
    ocr_image_sha256 TEXT,
    hocr_sha256 TEXT,
    qc_flags TEXT NOT NULL DEFAULT '{{}}' CHECK (json_valid(qc_flags)),
    blank INTEGER NOT NULL DEFAULT 0 CHECK (blank IN (0, 1)),
    dpi REAL,
    ocr_text TEXT,
    ocr_confidence REAL,
    ocr_engine TEXT,
    ocr_model_sha256 TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (document_id, position)
);
CREATE INDEX pages_capture ON pages (capture_id);
"""),
    ("0002_jobs_events_users", """
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
    lease_until REAL,
    worker TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (kind, subject)
);
CREATE INDEX jobs_claimable ON jobs (state, lease_until);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details))
);
CREATE INDEX events_object ON events (object_type, object_id);
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL CHECK (role IN ('operator', 'reviewer', 'admin')),
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at TEXT NOT NULL
);
"""),
    ("0003_page_text_search", """
CREATE VIRTUAL TABLE page_text USING fts5(
    written, folded, tokenize = 'unicode61 remove_diacritics 0'
);
"""),
    ("0004_job_retry_backoff", """
ALTER TABLE jobs ADD COLUMN not_before REAL NOT NULL DEFAULT 0;
"""),
    ("0005_packages", """
CREATE TABLE packages (
    id INTEGER PRIMARY KEY,
    dossier_id INTEGER NOT NULL REFERENCES dossiers(id),
    dossier_version INTEGER NOT NULL CHECK (dossier_version >= 1),
    kind TEXT NOT NULL CHECK (kind IN ('aip', 'sip')),
    package_id TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),
    size INTEGER NOT NULL CHECK (size > 0),
    relpath TEXT NOT NULL,
    supersedes_package_id TEXT REFERENCES packages(package_id),
    created_at TEXT NOT NULL,
    UNIQUE (dossier_id, dossier_version, kind)
);
"""),
    ("0006_outbox", """
CREATE TABLE uploads (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),
    size INTEGER NOT NULL CHECK (size >= 0),
    package_id TEXT NOT NULL,
    dossier_id INTEGER REFERENCES dossiers(id),
    local_path TEXT NOT NULL,
    tus_url TEXT,
    upload_offset INTEGER NOT NULL DEFAULT 0 CHECK (upload_offset >= 0),
    state TEXT NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'uploading', 'uploaded', 'accepted', 'rejected', 'held')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    receipt TEXT CHECK (receipt IS NULL OR json_valid(receipt)),
    receipt_verified_at TEXT,
    second_copy_path TEXT,
    local_deleted_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX uploads_state ON uploads (state, size);
CREATE TABLE sync_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""),
    # Whether a package may travel over a network is fixed when it is frozen, from the version
    # it holds: a later version of the dossier (reopened, mode changed) must not free it.
    ("0007_package_network_allowed", """
ALTER TABLE packages ADD COLUMN network_allowed INTEGER NOT NULL DEFAULT 0
    CHECK (network_allowed IN (0, 1));
ALTER TABLE uploads ADD COLUMN network_allowed INTEGER NOT NULL DEFAULT 0
    CHECK (network_allowed IN (0, 1));
"""),
    # Page grid edits: a turn the operator asked for (clockwise, applied after the automatic
    # orientation), corners set by hand (with the capture they belong to, so a retake drops
    # them), and deleted pages kept with their raw capture so nothing is lost.
    ("0008_page_editing", """
ALTER TABLE pages ADD COLUMN rotation INTEGER NOT NULL DEFAULT 0
    CHECK (rotation IN (0, 90, 180, 270));
ALTER TABLE pages ADD COLUMN manual_quad TEXT CHECK (manual_quad IS NULL OR json_valid(manual_quad));
CREATE TABLE deleted_pages (
    id INTEGER PRIMARY KEY,
    page_id INTEGER NOT NULL,
    capture_id INTEGER NOT NULL REFERENCES captures(id),
    dossier_id INTEGER NOT NULL REFERENCES dossiers(id),
    page TEXT NOT NULL CHECK (json_valid(page)),
    deleted_by TEXT NOT NULL,
    deleted_at TEXT NOT NULL
);
CREATE INDEX deleted_pages_dossier ON deleted_pages (dossier_id);
"""),
    # A person's correction of a page's OCR text, kept beside the OCR text (never over it),
    # with the OCR result it was made on: a page processed again gets new text and the old
    # correction no longer applies. Each correction is also in the audit trail.
    ("0009_page_text_corrections", """
CREATE TABLE page_text_corrections (
    page_id INTEGER PRIMARY KEY REFERENCES pages(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    ocr_words_sha256 TEXT,
    corrected_by TEXT NOT NULL,
    corrected_at TEXT NOT NULL
);
"""),
    # Settings changed from the web UI (the agent's bandwidth cap and time windows) override
    # sohoa.toml; a value is JSON, and every change is also in the audit trail.
    ("0010_settings", """
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL CHECK (json_valid(value)),
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""),
    # Retention: a raw capture's file may be deleted once the archive accepted its dossier;
    # the row stays (with when), so history and fsck know it is gone on purpose.
    ("0011_raw_capture_retention", """
ALTER TABLE captures ADD COLUMN raw_deleted_at TEXT;
"""),
    # A job's claim token: every claim and every re-queue bumps it, and a result is recorded
    # only with the token of its claim, so a page turned or retaken while the worker read it
    # is processed again instead of keeping the stale result.
    ("0012_job_claim_token", """
ALTER TABLE jobs ADD COLUMN claim_token INTEGER NOT NULL DEFAULT 0;
"""),
    # Sessions of a user end when the account is disabled, and stay ended when it is enabled
    # again: the web UI's session nonce includes this counter, bumped at each disable.
    ("0013_user_session_epoch", """
ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
"""),
)


def _statements(script: str) -> Iterator[str]:
    """Split a script into complete statements (triggers keep their inner semicolons)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:80]}")


def migrate(db: Database, migrations: tuple[tuple[str, str], ...] = MIGRATIONS) -> list[str]:
    """Apply every migration not yet applied, each in its own transaction; returns their names.
    `migrations` is the box's by default; the hub passes its own catalog's."""
    db.conn.execute("CREATE TABLE IF NOT EXISTS migrations "
                    "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    applied = []
    for name, script in migrations:
        with transaction(db):
            if db.conn.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone():
                continue
            for statement in _statements(script):
                db.conn.execute(statement)
            db.conn.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, now()))
        log.info("applied migration %s", name)
        applied.append(name)
    return applied
