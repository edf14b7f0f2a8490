"""An admin changes a user's role from the users page: audited with the admin's name, applied
from the user's next request; the last active admin cannot be demoted; others cannot do it."""

from __future__ import annotations

from device.accounts import set_user_role
from device.db.events import events_for
from device.db.users import user_by_name


def test_an_admin_makes_an_operator_a_reviewer_and_it_applies_at_once(login, box):
    operator = login("operator")
    assert operator.get("/audit").status_code == 403
    admin = login("admin")
    page = admin.get("/users").get_data(as_text=True)
    assert 'action="/users/operator/role"' in page
    answer = admin.post("/users/operator/role", {"role": "reviewer"})
    assert answer.status_code == 303
    assert "Đã đổi vai trò của operator" in admin.get("/users").get_data(as_text=True)
    assert user_by_name(box.db, "operator")["role"] == "reviewer"
    [event] = [e for e in events_for(box.db, "user", "operator") if e["action"] == "user.role"]
    assert event["actor"] == "web:admin"
    assert event["details"] == {"from": "operator", "to": "reviewer"}
    assert operator.get("/audit").status_code == 200  # the same session, now a reviewer


def test_the_last_active_admin_cannot_be_demoted(login, box):
    admin = login("admin")
    answer = admin.post("/users/admin/role", {"role": "operator"})
    shown = admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert "quản trị viên cuối cùng" in shown
    assert user_by_name(box.db, "admin")["role"] == "admin"
    # with a second admin, the first may step down
    set_user_role(box.db, "reviewer", "admin", actor="test")
    admin.post("/users/admin/role", {"role": "reviewer"})
    assert user_by_name(box.db, "admin")["role"] == "reviewer"


def test_a_bad_role_or_user_changes_nothing_and_others_are_refused(login, box):
    admin = login("admin")
    answer = admin.post("/users/operator/role", {"role": "root"})
    assert "Hãy chọn vai trò" in admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert user_by_name(box.db, "operator")["role"] == "operator"
    missing = admin.post("/users/khong-co/role", {"role": "operator"})
    assert "Không có người dùng" in admin.get(missing.headers["Location"]).get_data(as_text=True)
    assert login("reviewer").post("/users/operator/role", {"role": "admin"}).status_code == 403
    assert admin.client.post("/users/operator/role", data={"role": "admin"}).status_code == 400
    assert user_by_name(box.db, "operator")["role"] == "operator"
    assert [e for e in events_for(box.db, "user") if e["action"] == "user.role"] == []
