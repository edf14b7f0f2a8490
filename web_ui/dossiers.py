"""Dossier pages: the list with progress, create and edit with TT05 fields, a dossier's
documents and pages (thumbnails, QC flags), and the review moves (submit, withdraw, approve,
return, reopen)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from device.catalog.describe import dossier_json, dossier_list_json
from device.catalog.dossiers import approve, create_dossier, load, move, packaging_status, set_dossier_fields
from device.db.events import events_for
from device.db.pages import page_by_id
from device.errors import InputError, NotFoundError, StateError, ValidationError
from device.records.lifecycle import EDITABLE, MOVES, DossierState
from device.records.values import plain
from web_ui.forms import changed_only, dossier_form, read_form
from web_ui.thumbs import send_thumbnail, thumbnail
from web_ui.web import (REVIEW_ROLES, actor, api, box, flash_refusal, role_required, state_label,
                        t)

log = logging.getLogger(__name__)

bp = Blueprint("dossiers", __name__)
# Approved (or signed) and not packaged yet: the worker's packaging job is on it.
_AWAITING_PACKAGE = frozenset({DossierState.APPROVED, DossierState.SIGNED})
# Thumbnails per document on the dossier page; the rest are one link away in the page grid
# (a 1,000-page dossier would otherwise be 1,000 img tags).
PAGES_SHOWN = 12


def _fonds_defaults() -> dict[str, str]:
    defaults = box().config.settings.box
    return {"agencyId": defaults.agency_id, "archiveCode": defaults.archive_code,
            "fondsCode": defaults.fonds_code, "fondsName": defaults.fonds_name}


@bp.get("/")
def index() -> Any:
    return render_template("dossiers/list.html", dossiers=dossier_list_json(box()))


@bp.route("/dossiers/new", methods=["GET", "POST"])
def new() -> Any:
    values: dict[str, Any] = {}
    problems = None
    if request.method == "POST":
        values = read_form(request.form, with_fonds=True)
        try:
            code = create_dossier(box(), values, actor=actor())
        except ValidationError as exc:
            problems = exc.problems
        else:
            flash(t("dossiers.created", code=code), "info")
            return redirect(url_for("dossiers.show", code=code), 303)
    fonds, fields, others = dossier_form(values, problems, fonds=_fonds_defaults())
    return render_template("dossiers/form.html", fonds=fonds, fields=fields, others=others,
                           editing=None), 400 if problems else 200


@bp.route("/dossiers/<code>/edit", methods=["GET", "POST"])
def edit(code: str) -> Any:
    dossier = load(box(), code)
    current = {**plain(dossier["fields"]), "fileCode": dossier["file_code"]}
    values, problems = current, None
    if request.method == "POST":
        values = read_form(request.form, with_fonds=False)
        try:
            set_dossier_fields(box(), code, changed_only(values, current), actor=actor())
        except ValidationError as exc:
            problems = exc.problems
        else:
            new_code = values.get("fileCode", "").strip() or code
            flash(t("dossiers.saved", code=new_code), "info")
            return redirect(url_for("dossiers.show", code=new_code), 303)
    _fonds, fields, others = dossier_form(values, problems)
    return render_template("dossiers/form.html", fonds=[], fields=fields, others=others,
                           editing=code), 400 if problems else 200


@bp.get("/dossiers/<code>")
def show(code: str) -> Any:
    data = dossier_json(box(), code, page_limit=PAGES_SHOWN + 1)  # one more: where the grid opens
    state = DossierState(data["state"])
    packaging = packaging_status(box(), load(box(), code)) if state in _AWAITING_PACKAGE else None
    return render_template("dossiers/show.html", dossier=data, documents=_shown(data["documents"]),
                           editable=state in EDITABLE, reviewable=state is DossierState.IN_REVIEW,
                           can_review=current_user.role in REVIEW_ROLES, packaging=packaging,
                           can_withdraw=_may_withdraw(code, state),
                           can_reopen=current_user.role in REVIEW_ROLES
                           and state in MOVES["reopen"][0])


def _shown(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each document with its first PAGES_SHOWN pages, how many more it has and the first
    page not shown (where the page grid opens)."""
    return [{**document, "pages": document["pages"][:PAGES_SHOWN],
             "more": max(0, (document.get("numberOfPage") or 0) - PAGES_SHOWN),
             "next_page": document["pages"][PAGES_SHOWN]["id"]
             if len(document["pages"]) > PAGES_SHOWN else None}
            for document in documents]


def _may_withdraw(code: str, state: DossierState) -> bool:
    """A dossier in review goes back to draft at the hand of whoever submitted it (to fix
    something before the reviewer looks) or of a reviewer."""
    if state is not DossierState.IN_REVIEW:
        return False
    if current_user.role in REVIEW_ROLES:
        return True
    dossier = load(box(), code)
    submits = [event for event in events_for(box().db, "dossier", dossier["id"])
               if event["action"] == "dossier.submit"]
    return bool(submits) and submits[-1]["actor"] == actor()


def moved(code: str, state: str) -> Any:
    """The dossier's page, saying where a move took it."""
    flash(t("dossiers.moved", code=code, state=state_label(state)), "info")
    return redirect(url_for("dossiers.show", code=code), 303)


def _refused(code: str, exc: InputError | StateError) -> Any:
    flash_refusal(exc)
    return redirect(url_for("dossiers.show", code=code), 303)


@bp.post("/dossiers/<code>/submit")
def submit(code: str) -> Any:
    try:
        return moved(code, move(box(), code, "submit", actor=actor()))
    except (ValidationError, StateError) as exc:
        return _refused(code, exc)


@bp.post("/dossiers/<code>/approve")
@role_required(REVIEW_ROLES)
def approve_dossier(code: str) -> Any:
    try:
        return moved(code, approve(box(), code, actor=actor()))
    except (ValidationError, StateError) as exc:
        return _refused(code, exc)


@bp.post("/dossiers/<code>/return")
@role_required(REVIEW_ROLES)
def return_dossier(code: str) -> Any:
    comment = request.form.get("comment", "").strip()[:2000]
    try:
        return moved(code, move(box(), code, "return", actor=actor(), comment=comment))
    except (InputError, StateError) as exc:
        return _refused(code, exc)


@bp.post("/dossiers/<code>/withdraw")
def withdraw(code: str) -> Any:
    state = DossierState(load(box(), code)["state"])
    if state is DossierState.IN_REVIEW and not _may_withdraw(code, state):
        abort(403)
    try:
        return moved(code, move(box(), code, "withdraw", actor=actor()))
    except StateError as exc:
        return _refused(code, exc)


@bp.post("/dossiers/<code>/reopen")
@role_required(REVIEW_ROLES)
def reopen(code: str) -> Any:
    reason = request.form.get("reason", "").strip()[:2000]
    if not reason:
        flash(t("dossiers.reopen_needs_reason"), "error")
        return redirect(url_for("dossiers.show", code=code), 303)
    try:
        move(box(), code, "reopen", actor=actor(), comment=reason)
    except StateError as exc:
        return _refused(code, exc)
    flash(t("dossiers.reopened", code=code, version=load(box(), code)["version"]), "info")
    return redirect(url_for("dossiers.show", code=code), 303)


@bp.get("/pages/<int:page_id>/thumb.jpg")
@api
def page_thumbnail(page_id: int) -> Any:
    page = page_by_id(box().db, page_id)
    if page is None:
        raise NotFoundError(f"no page {page_id}", message_vi="Không có trang này.",
                            message_en="There is no such page.")
    return send_thumbnail(thumbnail(box(), page))
