"""The device page, the users page (admin only: add, reset a password, disable, enable) and the
audit log (reviewers and admins; newest first, paginated, filtered by user and by dossier)."""

from __future__ import annotations

import re

import pytest

from device import __version__
from device.accounts import check_password, create_user, set_user_active
from device.db import transaction
from device.db.events import events_for, record_event
from device.db.users import user_by_name
from device.errors import StateError
from tests.web_ui.conftest import PASSWORD, log_in


def test_the_device_page_shows_disk_version_queue_and_capture_state(box, login):
    page = login("operator").get("/device").get_data(as_text=True)
    free = int(re.search(r'data-free-bytes="(\d+)"', page).group(1))
    assert free > 0
    assert f'data-version="{__version__}"' in page
    assert 'id="device-capture" data-running="0"' in page and "không chạy" in page
    assert 'id="device-queue" data-queue-depth="0"' in page
    temperature = re.search(r'id="device-temperature" data-celsius="([\d.]*)"', page).group(1)
    assert temperature or "không rõ" in page  # no thermal zone in a container: said so
    assert 'id="link-users"' not in page and 'id="link-audit"' not in page


def test_the_device_page_links_admins_to_users_and_audit(login):
    page = login("admin").get("/device").get_data(as_text=True)
    assert 'id="link-users"' in page and 'id="link-audit"' in page


def test_only_an_admin_may_see_or_change_users(login):
    for role in ("operator", "reviewer"):
        session = login(role)
        assert session.get("/users").status_code == 403
        assert session.post("/users", {"username": "x1", "role": "admin",
                                        "password": "a-long-password"}).status_code == 403
        assert session.post("/users/operator/active", {"active": "0"}).status_code == 403
        assert session.post("/users/admin/password",
                            {"password": "another-long-one"}).status_code == 403


def test_an_admin_adds_a_user_who_can_then_log_in(app, box, login):
    answer = login("admin").post("/users", {"username": "Lan.nguyen", "display_name": "Nguyễn Thị Lan",
                                            "role": "reviewer", "password": "mat-khau-cua-lan"},
                                 follow_redirects=True)
    page = answer.get_data(as_text=True)
    assert "Đã thêm người dùng lan.nguyen." in page
    assert 'data-username="lan.nguyen" data-role="reviewer" data-active="1"' in page
    assert log_in(app.test_client(), "lan.nguyen", "mat-khau-cua-lan").status_code == 302
    created = [e for e in events_for(box.db, "user", "lan.nguyen") if e["action"] == "user.create"]
    assert created[0]["actor"] == "web:admin"


def test_a_weak_password_or_bad_name_is_refused_in_vietnamese(box, login):
    admin = login("admin")
    weak = admin.post("/users", {"username": "hung", "role": "operator", "password": "123"})
    assert weak.status_code == 400
    assert "Mật khẩu phải có ít nhất 10 ký tự" in weak.get_data(as_text=True)
    bad = admin.post("/users", {"username": "<b>x</b>", "role": "operator",
                                "password": "mat-khau-du-dai"})
    assert bad.status_code == 400 and "Tên đăng nhập chỉ gồm" in bad.get_data(as_text=True)
    assert "&lt;b&gt;x&lt;/b&gt;" in bad.get_data(as_text=True)  # the typed name, escaped
    taken = admin.post("/users", {"username": "operator", "role": "operator",
                                  "password": "mat-khau-du-dai"})
    assert "đã tồn tại" in taken.get_data(as_text=True)
    assert user_by_name(box.db, "hung") is None


def test_an_admin_resets_a_password(box, login):
    admin = login("admin")
    short = admin.post("/users/operator/password", {"password": "ngan"}, follow_redirects=True)
    assert "Mật khẩu phải có ít nhất 10 ký tự" in short.get_data(as_text=True)
    assert check_password(box.db, "operator", PASSWORD) is not None
    done = admin.post("/users/operator/password", {"password": "mat-khau-moi-123"},
                      follow_redirects=True)
    assert "Đã đặt lại mật khẩu cho operator." in done.get_data(as_text=True)
    assert check_password(box.db, "operator", "mat-khau-moi-123") is not None
    assert check_password(box.db, "operator", PASSWORD) is None
    reset = [e for e in events_for(box.db, "user", "operator") if e["action"] == "user.password"]
    assert reset[-1]["actor"] == "web:admin"


def test_a_disabled_user_is_logged_out_and_cannot_log_in_until_enabled(app, box, login):
    operator = login("operator")
    assert operator.get("/sync").status_code == 200
    admin = login("admin")
    answer = admin.post("/users/operator/active", {"active": "0"}, follow_redirects=True)
    assert "Đã khoá tài khoản operator." in answer.get_data(as_text=True)
    assert operator.get("/sync").status_code == 302  # the open session ends
    assert log_in(app.test_client(), "operator").status_code == 401
    admin.post("/users/operator/active", {"active": "1"})
    assert log_in(app.test_client(), "operator").status_code == 302
    actions = [e["action"] for e in events_for(box.db, "user", "operator")
               if e["action"] in ("user.disable", "user.enable")]
    assert actions == ["user.disable", "user.enable"]


def test_the_last_admin_and_oneself_cannot_be_disabled(box, login):
    admin = login("admin")
    itself = admin.post("/users/admin/active", {"active": "0"}, follow_redirects=True)
    assert "Không thể tự khoá tài khoản của chính mình." in itself.get_data(as_text=True)
    create_user(box.db, "chef", "admin", "mat-khau-chef-1", actor="test")
    set_user_active(box.db, "admin", False, actor="test")  # chef is now the only active admin
    with pytest.raises(StateError) as refused:
        set_user_active(box.db, "chef", False, actor="test")
    assert "quản trị cuối cùng" in refused.value.message_vi
    assert user_by_name(box.db, "chef")["active"] == 1


def _events(box, count: int, actor: str = "test", object_type: str = "thing") -> None:
    with transaction(box.db):
        for n in range(count):
            record_event(box.db, actor, "thing.touch", object_type, n, {"n": n})


def _event_ids(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'data-event-id="(\d+)"', page)]


def test_the_audit_log_is_newest_first_and_paginated(box, login):
    _events(box, 120)
    reviewer = login("reviewer")
    first = reviewer.get("/audit").get_data(as_text=True)
    ids = _event_ids(first)
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)
    total = int(re.search(r'data-total="(\d+)"', first).group(1))
    assert total >= 121 and 'id="audit-older"' in first and 'id="audit-newer"' not in first
    second = _event_ids(reviewer.get("/audit?page=2").get_data(as_text=True))
    assert second[0] == ids[-1] - 1  # no event skipped or shown twice between pages
    last_page = -(-total // 50)
    last = reviewer.get(f"/audit?page={last_page}").get_data(as_text=True)
    assert 'id="audit-older"' not in last and len(_event_ids(last)) == total - 50 * (last_page - 1)


def test_the_audit_log_filters_by_user_and_by_dossier(box, login, dossier_code):
    _events(box, 3, actor="web:someone")
    reviewer = login("reviewer")
    mine = reviewer.get("/audit?actor=web:someone").get_data(as_text=True)
    assert len(_event_ids(mine)) == 3 and set(re.findall(r'data-actor="([^"]+)"', mine)) == {"web:someone"}
    page = reviewer.get(f"/audit?dossier={dossier_code}").get_data(as_text=True)
    assert re.findall(r'data-action="([^"]+)"', page) == ["dossier.create"]
    unknown = reviewer.get("/audit?dossier=KHONG-CO").get_data(as_text=True)
    assert "Không có hồ sơ mã “KHONG-CO”." in unknown and _event_ids(unknown) == []


def test_operators_cannot_read_the_audit_log(login):
    assert login("operator").get("/audit").status_code == 403


def test_audit_details_are_escaped(box, login):
    with transaction(box.db):
        record_event(box.db, "test", "thing.touch", "thing", "<i>1</i>", {"note": "<script>x()</script>"})
    page = login("admin").get("/audit").get_data(as_text=True)
    assert "&lt;script&gt;x()&lt;/script&gt;" in page and "<script>x()" not in page
    assert "&lt;i&gt;1&lt;/i&gt;" in page
