"""The dossier lifecycle: every allowed move, every refused one."""

from __future__ import annotations

import pytest

from device.errors import StateError
from device.records.lifecycle import MOVES, DossierState, next_state, require_editable
from device.records.sheets import assign_sheets, spread_sides

EXPECTED = {
    ("draft", "submit"): "in_review",
    ("returned", "submit"): "in_review",
    ("in_review", "withdraw"): "draft",
    ("in_review", "approve"): "approved",
    ("in_review", "return"): "returned",
    ("approved", "sign"): "signed",
    ("approved", "package"): "packaged",
    ("signed", "package"): "packaged",
    ("packaged", "send"): "sent",
    ("sent", "accept"): "accepted",
    ("sent", "reject"): "rejected",
    ("approved", "reopen"): "draft",
    ("signed", "reopen"): "draft",
    ("packaged", "reopen"): "draft",
    ("accepted", "reopen"): "draft",
    ("rejected", "reopen"): "draft",
}


@pytest.mark.parametrize("state", list(DossierState))
@pytest.mark.parametrize("action", list(MOVES))
def test_each_move_is_allowed_exactly_where_the_lifecycle_says(state, action):
    expected = EXPECTED.get((state.value, action))
    if expected:
        assert next_state(state, action).value == expected
    else:
        with pytest.raises(StateError) as caught:
            next_state(state, action)
        assert "allowed from" in str(caught.value)
        assert "trạng thái" in caught.value.message_vi


def test_a_dossier_on_its_way_cannot_be_reopened_until_the_receipt():
    with pytest.raises(StateError):
        next_state("sent", "reopen")


def test_only_drafts_and_returned_dossiers_are_editable():
    require_editable("draft")
    require_editable("returned")
    for state in ("in_review", "approved", "packaged", "sent", "accepted"):
        with pytest.raises(StateError):
            require_editable(state)


def test_sheets_follow_sides():
    assert assign_sheets(["recto", "recto", "recto"]) == [1, 2, 3]
    assert assign_sheets(["recto", "verso", "recto", "verso"]) == [1, 1, 2, 2]
    # An open register: left page is the verso of one sheet, right page the recto of the next.
    assert assign_sheets(spread_sides(2)) == [1, 2]
    assert assign_sheets(["recto", *spread_sides(2)]) == [1, 1, 2]
