"""The review screen (kiểm duyệt): a page's image beside its OCR text with the doubtful words
marked, text corrections, and the reviewer's approve or return with a comment."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from device.catalog.corrections import (
    LOW_CONFIDENCE, correct_page_text, may_correct, page_text, page_words, review_pages,
)
from device.catalog.dossiers import approve, completeness_problems, load, move
from device.db.pages import page_by_id
from device.errors import InputError, NotFoundError, StateError, ValidationError
from device.records.lifecycle import EDITABLE, DossierState
from web_ui.thumbs import send_thumbnail, thumbnail
from web_ui.dossiers import moved
from web_ui.web import REVIEW_ROLES, actor, api, box, flash_refusal, role_required, t, user_message

log = logging.getLogger(__name__)

bp = Blueprint("review", __name__)

VIEW_SIZE = 1600  # long side of the page image on the review screen, in pixels
MAX_COMMENT = 2000


def _page_at(pages: list[dict[str, Any]], n: int) -> dict[str, Any] | None:
    if not pages:
        return None
    if not 1 <= n <= len(pages):
        raise NotFoundError(f"this dossier has no page {n} (it has {len(pages)})",
                            message_vi=f"Hồ sơ không có trang {n} (có {len(pages)} trang).")
    return pages[n - 1]


def _render(code: str, n: int, *, typed: str | None = None, typed_for: int | None = None,
            error: str = "", status: int = 200) -> Any:
    """The review screen at page n. `typed` (text a refused save kept) goes into the page's
    correction box only when it was typed for that page (`typed_for`, default: the page shown);
    else it is shown apart, read-only, so that saving cannot put it on another page."""
    dossier = load(box(), code)
    pages = review_pages(box(), dossier)
    current = _page_at(pages, n)
    state = DossierState(dossier["state"])
    text = page_text(box(), current) if current else None
    own = typed is not None and current is not None and typed_for in (None, current["id"])
    return render_template(
        "review/page.html", dossier=dossier, state=state.value,
        n=n, total=len(pages), page=current, text=text,
        words=page_words(box(), current) if current else None,
        shown_text=typed if own else (text.text if text else ""),
        unsaved=typed if typed is not None and not own else None,
        can_correct=bool(current) and may_correct(state.value, current_user.role),
        can_review=current_user.role in REVIEW_ROLES,
        reviewable=state is DossierState.IN_REVIEW, editable=state in EDITABLE,
        problems=completeness_problems(box(), dossier)
        if state in EDITABLE or state is DossierState.IN_REVIEW else [],
        threshold=int(LOW_CONFIDENCE), error=error,
    ), status


@bp.get("/dossiers/<code>/review", defaults={"n": 1})
@bp.get("/dossiers/<code>/review/<int:n>")
def page(code: str, n: int) -> Any:
    wanted = request.args.get("n", "")
    if wanted:  # the "go to page" form
        if not wanted.isdigit():
            raise InputError(f"page {wanted!r} is not a number",
                             message_vi="Số trang không hợp lệ.")
        return redirect(url_for("review.page", code=code, n=int(wanted)), 303)
    return _render(code, n)


@bp.post("/dossiers/<code>/review/<int:n>/text")
def correct(code: str, n: int) -> Any:
    """Save a page's corrected text, only onto the page it was typed for (the form names the
    page and the OCR result it showed): pages moved or read again meanwhile refuse the save."""
    pages = review_pages(box(), load(box(), code))
    current = _page_at(pages, n)
    if current is None:
        raise NotFoundError(f"dossier {code} has no pages", message_vi="Hồ sơ chưa có trang nào.")
    typed = request.form.get("text", "")
    posted = request.form.get("page_id", "")
    if not posted.isdigit():
        return _render(code, n, typed=typed, typed_for=-1, error=t("review.form_stale"),
                       status=400)
    page_id = int(posted)
    if page_id != current["id"]:
        now_at = next((i for i, page in enumerate(pages, start=1) if page["id"] == page_id), None)
        if now_at is None:
            return _render(code, n, typed=typed, typed_for=page_id, error=t("review.page_gone", n=n),
                           status=409)
        return _render(code, now_at, typed=typed, typed_for=page_id, status=409,
                       error=t("review.page_moved", n=n, now=now_at))
    try:
        outcome = correct_page_text(box(), page_id, typed, actor=actor(), role=current_user.role,
                                    made_on=request.form.get("ocr_words") or None)
    except (InputError, StateError) as exc:
        return _render(code, n, typed=typed, error=user_message(exc),
                       status=409 if isinstance(exc, StateError) else 400)
    flash(t(f"review.text_{outcome}", n=n), "info")
    return redirect(url_for("review.page", code=code, n=n), 303)


def _back(code: str) -> Any:
    n = request.form.get("n", "1")
    return redirect(url_for("review.page", code=code, n=int(n) if n.isdigit() else 1), 303)


@bp.post("/dossiers/<code>/review/approve")
@role_required(REVIEW_ROLES)
def approve_dossier(code: str) -> Any:
    try:
        state = approve(box(), code, actor=actor())
    except (ValidationError, StateError) as exc:
        flash_refusal(exc)
        return _back(code)
    return moved(code, state)


@bp.post("/dossiers/<code>/review/return")
@role_required(REVIEW_ROLES)
def return_dossier(code: str) -> Any:
    comment = request.form.get("comment", "").strip()
    if not comment or len(comment) > MAX_COMMENT:
        flash(t("review.comment_needed", limit=MAX_COMMENT), "error")
        return _back(code)
    try:
        state = move(box(), code, "return", actor=actor(), comment=comment)
    except (InputError, StateError) as exc:
        flash_refusal(exc)
        return _back(code)
    return moved(code, state)


@bp.get("/pages/<int:page_id>/view.jpg")
@api
def page_image(page_id: int) -> Any:
    """The page large enough to read on the review screen, cached and sent like the thumbnails
    (the browser asks again each time: a retake or a turn keeps the URL, not the picture)."""
    found = page_by_id(box().db, page_id)
    if found is None:
        raise NotFoundError(f"no page {page_id}", message_vi="Không có trang này.")
    return send_thumbnail(thumbnail(box(), found, VIEW_SIZE))
