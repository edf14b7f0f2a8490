"""Archive staff accounts for the dashboard: names and Argon2 password hashes."""

from __future__ import annotations

from typing import Any

from device.accounts import check_new_password, check_username, hash_password, verified_user
from device.db.connection import Database, transaction
from device.errors import InputError
from hub import catalog

def add_staff(db: Database, username: str, password: str, *, actor: str) -> int:
    """A new staff login; InputError for a bad or taken name or a short password."""
    check_username(username)
    check_new_password(password)
    with transaction(db):
        if catalog.staff_by_name(db, username):
            raise InputError(f"staff user {username!r} already exists",
                             message_vi=f"Tên đăng nhập “{username}” đã tồn tại")
        staff_id = catalog.insert_staff(db, username, hash_password(password))
        catalog.record_event(db, actor, "staff.create", username)
    return staff_id


def check_staff_password(db: Database, username: str, password: str) -> dict[str, Any] | None:
    """The active staff user if the password is right, else None (same time for unknown names)."""
    return verified_user(catalog.staff_by_name(db, username), password,
                         lambda user, new_hash: catalog.set_staff_password(db, user["id"], new_hash), db)
