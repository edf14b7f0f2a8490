"""Archive staff accounts for the dashboard: names and Argon2 password hashes."""

from __future__ import annotations

import re
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from device.db.connection import Database, transaction
from device.errors import InputError
from hub import catalog

_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,31}", re.ASCII)
MIN_PASSWORD = 10
_hasher = PasswordHasher()


def add_staff(db: Database, username: str, password: str, *, actor: str) -> int:
    """A new staff login; InputError for a bad or taken name or a short password."""
    if not _USERNAME.fullmatch(username):
        raise InputError(f"user name {username!r}: 2–32 lower-case letters, digits, '.', '_', '-'",
                         message_vi="Tên đăng nhập chỉ gồm chữ thường, số, '.', '_', '-' (2–32 ký tự)")
    if len(password) < MIN_PASSWORD:
        raise InputError(f"password: at least {MIN_PASSWORD} characters",
                         message_vi=f"Mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự")
    with transaction(db):
        if catalog.staff_by_name(db, username):
            raise InputError(f"staff user {username!r} already exists",
                             message_vi=f"Tên đăng nhập “{username}” đã tồn tại")
        staff_id = catalog.insert_staff(db, username, _hasher.hash(password))
        catalog.record_event(db, actor, "staff.create", username)
    return staff_id


def check_staff_password(db: Database, username: str, password: str) -> dict[str, Any] | None:
    """The active staff user if the password is right, else None (same time for unknown names)."""
    user = catalog.staff_by_name(db, username)
    if user is None or not user["active"]:
        _hasher.hash(password)
        return None
    try:
        _hasher.verify(user["password_hash"], password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user["password_hash"]):
        with transaction(db):
            catalog.set_staff_password(db, user["id"], _hasher.hash(password))
    return user
