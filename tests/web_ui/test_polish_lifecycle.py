"""The dossier page's lifecycle moves: a return needs a comment (in the device, whichever screen
asks), the submitter or a reviewer withdraws a dossier from review, a reviewer reopens a finished
one with a required reason as a new version; each audited with the user."""

from __future__ import annotations

import pytest

from device.catalog.describe import dossier_json
from device.catalog.dossiers import approve, load, move
from device.db.events import events_for
from device.errors import InputError
from tests.web_ui.test_review import submitted


def _moves(box, action: str) -> list[dict]:
    return [e for e in events_for(box.db, "dossier") if e["action"] == f"dossier.{action}"]


def test_the_device_refuses_a_return_without_a_comment(box, dossier_code, page_png):
    submitted(box, dossier_code, page_png)
    with pytest.raises(InputError) as refused:
        move(box, dossier_code, "return", actor="test", comment="   ")
    assert "lý do" in refused.value.message_vi
    assert dossier_json(box, dossier_code)["state"] == "in_review" and _moves(box, "return") == []


def test_the_dossier_page_refuses_an_empty_return_in_vietnamese(login, box, dossier_code, page_png):
    submitted(box, dossier_code, page_png)
    session = login("reviewer")
    page = session.get(f"/dossiers/{dossier_code}").get_data(as_text=True)
    assert 'name="comment" required' in page
    answer = session.post(f"/dossiers/{dossier_code}/return", {"comment": " "})
    assert answer.status_code == 303
    shown = session.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Trả lại hồ sơ cần ghi rõ lý do" in shown
    assert dossier_json(box, dossier_code)["state"] == "in_review"
    session.post(f"/dossiers/{dossier_code}/return", {"comment": "Thiếu trang 2"})
    assert dossier_json(box, dossier_code)["state"] == "returned"
    assert _moves(box, "return")[0]["details"]["comment"] == "Thiếu trang 2"


def test_the_operator_who_submitted_withdraws_and_another_operator_cannot(
        login, box, users, dossier_code, page_png):
    from device.accounts import create_user
    from tests.web_ui.conftest import PASSWORD

    create_user(box.db, "hoa", "operator", PASSWORD, actor="test")
    submitted(box, dossier_code, page_png)  # submitted by "test", not by either operator
    operator = login("operator")
    assert 'id="dossier-withdraw"' not in operator.get(f"/dossiers/{dossier_code}").get_data(
        as_text=True)
    assert operator.post(f"/dossiers/{dossier_code}/withdraw").status_code == 403
    assert dossier_json(box, dossier_code)["state"] == "in_review"

    move(box, dossier_code, "withdraw", actor="test")
    operator.post(f"/dossiers/{dossier_code}/submit")
    assert 'id="dossier-withdraw"' in operator.get(f"/dossiers/{dossier_code}").get_data(
        as_text=True)
    answer = operator.post(f"/dossiers/{dossier_code}/withdraw")
    assert answer.status_code == 303 and dossier_json(box, dossier_code)["state"] == "draft"
    assert _moves(box, "withdraw")[-1]["actor"] == "web:operator"


def test_a_reviewer_reopens_an_approved_dossier_with_a_reason(login, box, dossier_code, page_png):
    submitted(box, dossier_code, page_png)
    approve(box, dossier_code, actor="test")
    version = load(box, dossier_code)["version"]
    assert 'id="dossier-reopen"' not in login("operator").get(
        f"/dossiers/{dossier_code}").get_data(as_text=True)
    assert login("operator").post(f"/dossiers/{dossier_code}/reopen",
                                  {"reason": "sửa tiêu đề"}).status_code == 403
    reviewer = login("reviewer")
    assert 'id="dossier-reopen"' in reviewer.get(f"/dossiers/{dossier_code}").get_data(as_text=True)

    empty = reviewer.post(f"/dossiers/{dossier_code}/reopen", {"reason": "  "})
    assert "Hãy ghi lý do mở lại" in reviewer.get(empty.headers["Location"]).get_data(as_text=True)
    assert dossier_json(box, dossier_code)["state"] == "approved"

    answer = reviewer.post(f"/dossiers/{dossier_code}/reopen", {"reason": "Sửa tiêu đề hồ sơ"})
    assert answer.status_code == 303
    assert "phiên bản" in reviewer.get(answer.headers["Location"]).get_data(as_text=True)
    reopened = load(box, dossier_code)
    assert reopened["state"] == "draft" and reopened["version"] == version + 1
    [event] = _moves(box, "reopen")
    assert event["actor"] == "web:reviewer" and event["details"]["comment"] == "Sửa tiêu đề hồ sơ"


def test_reopen_and_withdraw_need_the_csrf_token(login, box, dossier_code, page_png):
    submitted(box, dossier_code, page_png)
    reviewer = login("reviewer")
    assert reviewer.client.post(f"/dossiers/{dossier_code}/withdraw").status_code == 400
    approve(box, dossier_code, actor="test")
    assert reviewer.client.post(f"/dossiers/{dossier_code}/reopen",
                                data={"reason": "x"}).status_code == 400
    assert dossier_json(box, dossier_code)["state"] == "approved"
