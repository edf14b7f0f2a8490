"""Accounts: roles, Argon2 hashes, refusals, and the first admin made by init."""

from __future__ import annotations

import pytest

from device.accounts import check_password, create_user, reset_password
from device.db.events import events_for
from device.db.users import count_users, user_by_name
from device.errors import InputError


def test_init_made_exactly_one_admin(box):
    assert count_users(box.db, "admin") == 1


def test_a_user_logs_in_with_the_right_password_only(box):
    create_user(box.db, "lan.nguyen", "operator", "mật khẩu dài đủ", actor="admin")
    stored = user_by_name(box.db, "lan.nguyen")
    assert stored["password_hash"].startswith("$argon2id$")
    assert "mật khẩu" not in stored["password_hash"]
    assert check_password(box.db, "lan.nguyen", "mật khẩu dài đủ")["role"] == "operator"
    assert check_password(box.db, "lan.nguyen", "sai mật khẩu rồi") is None
    assert check_password(box.db, "nobody", "mật khẩu dài đủ") is None
    reset_password(box.db, "lan.nguyen", "một mật khẩu mới", actor="admin")
    assert check_password(box.db, "lan.nguyen", "một mật khẩu mới")
    assert [e["action"] for e in events_for(box.db, "user", "lan.nguyen")] == [
        "user.create", "user.password"]


@pytest.mark.parametrize(("name", "role", "password"), [
    ("Lan Nguyen", "operator", "long enough pw"),
    ("lan", "boss", "long enough pw"),
    ("lan", "operator", "short"),
])
def test_bad_accounts_are_refused(box, name, role, password):
    with pytest.raises(InputError):
        create_user(box.db, name, role, password, actor="admin")
    assert count_users(box.db) == 1


def test_user_names_are_unique(box):
    create_user(box.db, "reviewer1", "reviewer", "long enough pw", actor="admin")
    with pytest.raises(InputError, match="already exists"):
        create_user(box.db, "reviewer1", "operator", "long enough pw", actor="admin")


def test_a_user_name_with_a_trailing_newline_is_refused(box):
    with pytest.raises(InputError):
        create_user(box.db, "bob\n", "operator", "long enough pw", actor="admin")
