"""The lifecycle of a dossier: which moves are allowed from which state, and what each means."""

from __future__ import annotations

from enum import StrEnum

from device.errors import StateError


class DossierState(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    RETURNED = "returned"
    SIGNED = "signed"
    PACKAGED = "packaged"
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


S = DossierState

# action: (states it may start from, state it leads to)
MOVES: dict[str, tuple[frozenset[DossierState], DossierState]] = {
    "submit": (frozenset({S.DRAFT, S.RETURNED}), S.IN_REVIEW),
    "withdraw": (frozenset({S.IN_REVIEW}), S.DRAFT),
    "approve": (frozenset({S.IN_REVIEW}), S.APPROVED),
    "return": (frozenset({S.IN_REVIEW}), S.RETURNED),
    # Signing (ký số) sits between approval and packaging when the box holds the agency's key.
    "sign": (frozenset({S.APPROVED}), S.SIGNED),
    "package": (frozenset({S.APPROVED, S.SIGNED}), S.PACKAGED),
    "send": (frozenset({S.PACKAGED}), S.SENT),
    "accept": (frozenset({S.SENT}), S.ACCEPTED),
    "reject": (frozenset({S.SENT}), S.REJECTED),
    # Reopening starts a new version; not while a package is on its way (wait for the receipt).
    "reopen": (frozenset({S.APPROVED, S.SIGNED, S.PACKAGED, S.ACCEPTED, S.REJECTED}), S.DRAFT),
}

# Fields and pages may change only while a person is still working on the dossier.
EDITABLE = frozenset({S.DRAFT, S.RETURNED})

_STATE_VI = {
    S.DRAFT: "nháp", S.IN_REVIEW: "đang kiểm duyệt", S.APPROVED: "đã duyệt",
    S.RETURNED: "bị trả lại", S.SIGNED: "đã ký số", S.PACKAGED: "đã đóng gói",
    S.SENT: "đã gửi", S.ACCEPTED: "đã được tiếp nhận", S.REJECTED: "bị từ chối",
}


_STATE_EN = {
    S.DRAFT: "draft", S.IN_REVIEW: "in review", S.APPROVED: "approved",
    S.RETURNED: "returned", S.SIGNED: "digitally signed", S.PACKAGED: "packaged",
    S.SENT: "sent", S.ACCEPTED: "accepted by the archive", S.REJECTED: "rejected",
}


def state_vi(state: DossierState) -> str:
    """The state's Vietnamese name for the UI."""
    return _STATE_VI[state]


def state_en(state: DossierState) -> str:
    """The state's English name for the UI."""
    return _STATE_EN[state]


def state_label(state: DossierState | str, language: str = "vi") -> str:
    """The state's name in `language` ("en"; anything else is Vietnamese)."""
    state = DossierState(state)
    return _STATE_EN[state] if language == "en" else _STATE_VI[state]


def next_state(current: DossierState | str, action: str) -> DossierState:
    """The state an action leads to from `current`; raises StateError when it is not allowed."""
    current = DossierState(current)
    if action not in MOVES:
        raise StateError(f"unknown action {action!r}; known: {', '.join(MOVES)}")
    sources, target = MOVES[action]
    if current not in sources:
        allowed = ", ".join(sorted(s.value for s in sources))
        raise StateError(
            f"cannot {action} a dossier that is {current.value} (allowed from: {allowed})",
            message_vi=f"không thể thực hiện “{action}” khi hồ sơ đang ở trạng thái {state_vi(current)}")
    return target


def require_editable(current: DossierState | str) -> None:
    """Raise StateError unless fields and pages may still change."""
    current = DossierState(current)
    if current not in EDITABLE:
        raise StateError(
            f"the dossier is {current.value}; reopen it to change it (a new version is made)",
            message_vi=f"hồ sơ đang ở trạng thái {state_vi(current)}; hãy mở lại để sửa")
