"""User accounts: roles, passwords hashed with Argon2 (argon2-cffi), and their audit events."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlite_utils import Database

from device.db import transaction
from device.db.events import record_event
from device.db.users import (ROLES, count_active_admins, insert_user, set_active,
                             set_password_hash, set_role, user_by_name)
from device.errors import InputError, NotFoundError, StateError

_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,31}", re.ASCII)
MIN_PASSWORD = 10
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """The Argon2id hash of `password` with the box's parameters."""
    return _hasher.hash(password)


def check_username(username: str) -> None:
    """InputError unless `username` is 2–32 lower-case letters, digits, '.', '_', '-'."""
    if not _USERNAME.fullmatch(username):
        raise InputError(f"user name {username!r}: 2–32 lower-case letters, digits, '.', '_', '-'",
                         message_vi="Tên đăng nhập chỉ gồm chữ thường, số, '.', '_', '-' (2–32 ký tự)")


def check_new_password(password: str) -> None:
    """InputError for a password shorter than MIN_PASSWORD."""
    if len(password) < MIN_PASSWORD:
        raise InputError(f"password: at least {MIN_PASSWORD} characters",
                         message_vi=f"Mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự")


def generate_password() -> str:
    """A random password that is easy to read aloud and type (about 80 bits)."""
    return "-".join(secrets.token_urlsafe(5).replace("_", "x").replace("-", "y") for _ in range(3))


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InputError(f"role {role!r}: choose one of {', '.join(ROLES)}",
                         message_vi="Hãy chọn vai trò: người nhập liệu, người kiểm duyệt hoặc quản trị")


def create_user(db: Database, username: str, role: str, password: str, *, actor: str,
                display_name: str = "") -> int:
    """A new account; raises InputError for a bad name, role or short password."""
    check_username(username)
    _check_role(role)
    check_new_password(password)
    with transaction(db):
        if user_by_name(db, username):
            raise InputError(f"user {username!r} already exists",
                             message_vi=f"Tên đăng nhập “{username}” đã tồn tại")
        user_id = insert_user(db, username, role, _hasher.hash(password), display_name)
        record_event(db, actor, "user.create", "user", username, {"role": role})
    return user_id


def check_password(db: Database, username: str, password: str) -> dict | None:
    """The active user if the password is right, else None (same answer for unknown names)."""
    return verified_user(user_by_name(db, username), password,
                         lambda user, new_hash: set_password_hash(db, user["id"], new_hash), db)


def verified_user(user: dict | None, password: str, store_hash: Callable[[dict, str], object],
                  db: Database) -> dict | None:
    """`user` (a row with `active` and `password_hash`) if it is active and `password` is its
    password, else None, taking the same time for an unknown name so names cannot be probed.
    A hash made with older parameters is replaced through `store_hash` (the box's users and the
    hub's staff share this)."""
    if user is None or not user["active"]:
        _hasher.hash(password)
        return None
    try:
        _hasher.verify(user["password_hash"], password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user["password_hash"]):
        with transaction(db):
            store_hash(user, _hasher.hash(password))
    return user


def _existing_user(db: Database, username: str) -> dict:
    """The user's row; NotFoundError when there is no such user."""
    user = user_by_name(db, username)
    if user is None:
        raise NotFoundError(f"no user {username!r}", message_vi=f"Không có người dùng “{username}”")
    return user


def reset_password(db: Database, username: str, password: str, *, actor: str) -> None:
    """Give a user a new password."""
    check_new_password(password)
    with transaction(db):
        user = _existing_user(db, username)
        set_password_hash(db, user["id"], _hasher.hash(password))
        record_event(db, actor, "user.password", "user", username)


def set_user_active(db: Database, username: str, active: bool, *, actor: str) -> None:
    """Enable or disable an account (a disabled one cannot log in; its sessions end). The last
    active admin cannot be disabled, so the box always has someone who can manage it."""
    with transaction(db):
        user = _existing_user(db, username)
        if bool(user["active"]) == bool(active):
            return
        if not active and user["role"] == "admin" and count_active_admins(db) <= 1:
            raise StateError(f"{username!r} is the last active admin",
                             message_vi="Không thể khoá tài khoản quản trị cuối cùng còn hoạt động.")
        set_active(db, user["id"], active)
        record_event(db, actor, "user.enable" if active else "user.disable", "user", username)


def set_user_role(db: Database, username: str, role: str, *, actor: str) -> None:
    """Give a user another role (it applies from their next request). The last active admin
    keeps the admin role, so the box always has someone who can manage it."""
    _check_role(role)
    with transaction(db):
        user = _existing_user(db, username)
        if user["role"] == role:
            return
        if (user["role"] == "admin" and user["active"] and count_active_admins(db) <= 1):
            raise StateError(f"{username!r} is the last active admin",
                             message_vi="Không thể đổi vai trò của quản trị viên cuối cùng "
                                        "còn hoạt động.")
        set_role(db, user["id"], role)
        record_event(db, actor, "user.role", "user", username, {"from": user["role"], "to": role})
