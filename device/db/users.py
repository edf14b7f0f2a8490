"""Queries on users: operators, reviewers and admins."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from device.db.timeutil import now

ROLES = ("operator", "reviewer", "admin")


def insert_user(db: Database, username: str, role: str, password_hash: str,
                display_name: str = "") -> int:
    cursor = db.conn.execute(
        "INSERT INTO users (username, display_name, role, password_hash, created_at)"
        " VALUES (?, ?, ?, ?, ?)", (username, display_name, role, password_hash, now()))
    return int(cursor.lastrowid)


def user_by_name(db: Database, username: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM users WHERE username = ?", [username]))
    return rows[0] if rows else None


def set_password_hash(db: Database, user_id: int, password_hash: str) -> None:
    db.conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))


def count_users(db: Database, role: str | None = None) -> int:
    if role is None:
        return int(db.conn.execute("SELECT count(*) FROM users").fetchone()[0])
    return int(db.conn.execute("SELECT count(*) FROM users WHERE role = ?", (role,)).fetchone()[0])


def all_users(db: Database) -> list[dict[str, Any]]:
    """Every account (without its password hash), by user name."""
    return list(db.query("SELECT id, username, display_name, role, active, created_at FROM users"
                         " ORDER BY username"))


def set_active(db: Database, user_id: int, active: bool) -> None:
    """Enable or disable an account; disabling also moves its session epoch on, so sessions
    opened before stay ended when the account is enabled again."""
    db.conn.execute("UPDATE users SET active = ?, session_epoch = session_epoch + ? WHERE id = ?",
                    (int(bool(active)), int(not active), user_id))


def set_role(db: Database, user_id: int, role: str) -> None:
    db.conn.execute("UPDATE users SET role = ? WHERE id = ?", (role, user_id))


def count_active_admins(db: Database) -> int:
    return int(db.conn.execute("SELECT count(*) FROM users WHERE role = 'admin' AND active = 1")
               .fetchone()[0])
