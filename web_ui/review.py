"""The review screen (kiểm duyệt): a page's image beside its OCR text with the doubtful words
marked, text corrections, and the reviewer's approve or return with a comment."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from device.catalog.corrections import (
    LOW_CONFIDENCE, correct_page_text, may_correct, page_text, page_words, review_pages,
)
from device.catalog.dossiers import approve, completeness_problems, load, move
from device.db.pages import page_by_id
from device.errors import InputError, NotFoundError, StateError, ValidationError
from device.records.lifecycle import EDITABLE, DossierState, state_vi
from web_ui.thumbs import thumbnail
from web_ui.web import REVIEW_ROLES, actor, api, box, role_required, t

log = logging.getLogger(__name__)

bp = Blueprint("review", __name__)

VIEW_SIZE = 1600  # long side of the page image on the review screen, in pixels
MAX_COMMENT = 2000


def _page_at(pages: list[dict[str, Any]], n: int) -> dict[str, Any] | None:
    if not pages:
        return None
    if not 1 <= n <= len(pages):
        raise NotFoundError(f"no page {n} in this dossier",
                            message_vi=f"Hồ sơ không có trang {n} (có {len(pages)} trang).")
    return pages[n - 1]


def _render(code: str, n: int, *, typed: str | None = None, error: str = "",
            status: int = 200) -> Any:
    dossier = load(box(), code)
    pages = review_pages(box(), dossier)
    current = _page_at(pages, n)
    state = DossierState(dossier["state"])
    text = page_text(box(), current) if current else None
    return render_template(
        "review/page.html", dossier=dossier, state=state.value, state_label=state_vi(state),
        n=n, total=len(pages), page=current, text=text,
        words=page_words(box(), current) if current else None,
        shown_text=typed if typed is not None else (text.text if text else ""),
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
    current = _page_at(review_pages(box(), load(box(), code)), n)
    if current is None:
        raise NotFoundError(f"dossier {code} has no pages", message_vi="Hồ sơ chưa có trang nào.")
    typed = request.form.get("text", "")
    try:
        outcome = correct_page_text(box(), current["id"], typed, actor=actor(),
                                    role=current_user.role)
    except (InputError, StateError) as exc:
        return _render(code, n, typed=typed, error=exc.message_vi,
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
    except ValidationError as exc:
        problems = "; ".join(f"{item.label_vi}: {item.problem_vi}" for item in exc.problems)
        flash(t("dossiers.cannot_approve", problems=problems), "error")
        return _back(code)
    except StateError as exc:
        flash(exc.message_vi, "error")
        return _back(code)
    flash(t("dossiers.moved", code=code, state=state_vi(DossierState(state))), "info")
    return redirect(url_for("dossiers.show", code=code), 303)


@bp.post("/dossiers/<code>/review/return")
@role_required(REVIEW_ROLES)
def return_dossier(code: str) -> Any:
    comment = request.form.get("comment", "").strip()
    if not comment or len(comment) > MAX_COMMENT:
        flash(t("review.comment_needed", limit=MAX_COMMENT), "error")
        return _back(code)
    try:
        state = move(box(), code, "return", actor=actor(), comment=comment)
    except StateError as exc:
        flash(exc.message_vi, "error")
        return _back(code)
    flash(t("dossiers.moved", code=code, state=state_vi(DossierState(state))), "info")
    return redirect(url_for("dossiers.show", code=code), 303)


@bp.get("/pages/<int:page_id>/view.jpg")
@api
def page_image(page_id: int) -> Any:
    """The page large enough to read on the review screen (cached like the thumbnails)."""
    found = page_by_id(box().db, page_id)
    if found is None:
        raise NotFoundError(f"no page {page_id}", message_vi="Không có trang này.")
    response = send_file(thumbnail(box(), found, VIEW_SIZE), mimetype="image/jpeg",
                         conditional=True, max_age=60)
    response.headers["Cache-Control"] = "private, max-age=60"
    return response
