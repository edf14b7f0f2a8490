"""Opening the database: WAL, durable commits, foreign keys, busy timeout, short write transactions."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from device.errors import StorageError

log = logging.getLogger(__name__)

__all__ = ["Database", "open_database", "transaction"]


def open_database(path: Path, *, busy_timeout_ms: int = 10_000, migrate: bool = True) -> Database:
    """Open (and by default migrate) the box's database file.

    `synchronous=FULL`: in WAL mode SQLite then fsyncs the WAL at every commit, so a commit
    that returned has reached the disk and survives a power cut. NORMAL would keep the file
    consistent but could lose the last commits, i.e. pages the operator was told are saved.
    """
    try:
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=busy_timeout_ms / 1000,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open database {path}: {exc}") from None
    db = Database(conn)
    if migrate:
        from device.db.migrations import migrate as run_migrations

        run_migrations(db)
    return db


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """A short write transaction taken with BEGIN IMMEDIATE, so writers queue at the start
    instead of failing on lock upgrade half-way."""
    conn = db.conn
    if conn.in_transaction:  # nested: the outer transaction commits
        yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:  # SQLite may have rolled back already
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        # Never leave the connection inside a transaction: every later write would then look
        # nested and never commit.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise StorageError(f"database commit failed; nothing was saved: {exc}",
                           message_vi="Không lưu được vào cơ sở dữ liệu; chưa có gì được lưu.") from exc
