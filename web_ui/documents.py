"""Document forms: create and edit a document's TT05 fields, with what approval still needs."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from device.catalog.documents import (
    load_document, new_document, seq_of_document, set_document_fields,
)
from device.catalog.dossiers import load
from device.catalog.effective import document_values
from device.db import records, transaction
from device.errors import FieldProblem, NotFoundError, StateError, ValidationError
from device.records import lifecycle
from device.records.identifiers import doc_id
from device.records.lifecycle import EDITABLE, DossierState
from device.records.schema import document_fields
from device.records.validation import check_document
from device.records.values import plain
from web_ui.forms import changed_only, document_form, read_form
from web_ui.web import actor, box, code_names, label, t

log = logging.getLogger(__name__)

bp = Blueprint("documents", __name__)


def _shown_value(name: str, value: Any) -> str:
    """A stored value as a person reads it: codes with their names."""
    spec = document_fields()[name]
    if spec.type not in ("code", "codes"):
        return str(value)
    names = code_names(spec.code_list or name)
    items = value if isinstance(value, list) else [value]
    return ", ".join(f"{item} – {names.get(item, '?')}" for item in items)


def _inherited(dossier: dict[str, Any]) -> list[str]:
    """"label: value" of each field a document takes from its dossier when left empty."""
    parent = plain(dossier["fields"])
    return [f"{label(spec)}: {_shown_value(name, parent[name])}"
            for name, spec in document_fields().items()
            if spec.inherit and parent.get(name) is not None]


def _still_needed(dossier: dict[str, Any], seq: int) -> list[FieldProblem]:
    """What stops this document (as stored) from being approved."""
    document = next((row for row in records.documents_of(box().db, dossier["id"])
                     if row["seq"] == seq), None)
    if document is None:
        return []
    return check_document(document_values(document, dossier), "complete")


def _render(dossier: dict[str, Any], values: dict[str, Any], problems: list[FieldProblem] | None,
            *, seq: int | None, document_id: int | None = None, refused: str = "",
            status: int | None = None) -> Any:
    """The form; `refused` says why a save changed nothing (the typed values are kept), and
    without a `document_id` an edit form has nothing to save to."""
    fields, others = document_form(values, problems)
    editable = DossierState(dossier["state"]) in EDITABLE
    return render_template(
        "documents/form.html", dossier=dossier, fields=fields, others=others, seq=seq,
        document_id=document_id, refused=refused,
        doc_id=doc_id(dossier["file_code"], seq) if seq else None, editable=editable,
        inherited=_inherited(dossier), needed=_still_needed(dossier, seq) if seq else [],
    ), status or (400 if problems else 200)


@bp.route("/dossiers/<code>/documents/new", methods=["GET", "POST"])
def new(code: str) -> Any:
    dossier = load(box(), code)
    lifecycle.require_editable(dossier["state"])
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = read_form(request.form, with_fonds=False, specs=document_fields())
        typed = {name: value for name, value in values.items() if value not in ("", [], None)}
        try:
            with transaction(box().db):  # a refused form leaves no empty document behind
                _document_id, seq = new_document(box(), dossier, actor=actor())
                if typed:
                    set_document_fields(box(), doc_id(code, seq), typed, actor=actor())
        except ValidationError as exc:
            return _render(dossier, values, exc.problems, seq=None)
        flash(t("documents.created", doc=doc_id(code, seq)), "info")
        return redirect(url_for("documents.edit", code=code, seq=seq), 303)
    return _render(dossier, values, None, seq=None)


@bp.route("/dossiers/<code>/documents/<int:seq>/edit", methods=["GET", "POST"])
def edit(code: str, seq: int) -> Any:
    if seq < 1:
        raise NotFoundError(f"no document {code}.{seq}", message_vi="Không có tài liệu này.")
    identifier = doc_id(code, seq)
    opened = request.form.get("document_id", "")
    try:
        dossier, document = load_document(box(), identifier)
    except NotFoundError:
        if request.method == "GET" or not opened.isdigit():
            raise
        values = read_form(request.form, with_fonds=False, specs=document_fields())
        return _renumbered(load(box(), code), values, int(opened), identifier)  # merged away
    current = plain(document["fields"])
    if request.method == "GET":
        return _render(dossier, current, None, seq=seq, document_id=document["id"])
    values = read_form(request.form, with_fonds=False, specs=document_fields())
    if not opened.isdigit():
        return _render(dossier, values, None, seq=seq, refused=t("documents.form_stale"),
                       status=400)
    if int(opened) != document["id"]:
        return _renumbered(dossier, values, int(opened), identifier)
    changed = changed_only(values, current, document_fields())
    try:
        if changed:
            set_document_fields(box(), identifier, changed, actor=actor(), document_id=int(opened))
        else:
            lifecycle.require_editable(dossier["state"])
    except ValidationError as exc:
        return _render(dossier, values, exc.problems, seq=seq, document_id=document["id"])
    except StateError:
        if int(opened) != load_document(box(), identifier)[1]["id"]:  # renumbered just now
            return _renumbered(dossier, values, int(opened), identifier)
        raise
    flash(t("documents.saved", doc=identifier), "info")
    return redirect(url_for("documents.edit", code=code, seq=seq), 303)


def _renumbered(dossier: dict[str, Any], values: dict[str, Any], opened: int,
                identifier: str) -> Any:
    """A save refused because the docId now names another document than the one opened: the
    form again with what was typed, on the opened document where it now is (or without a save
    when it is gone)."""
    now = seq_of_document(box(), dossier, opened)
    code = dossier["file_code"]
    if now is None:
        return _render(dossier, values, None, seq=int(identifier.rpartition(".")[2]), status=409,
                       refused=t("documents.gone", doc=identifier))
    log.info("document %d: form of %s posted, now %s", opened, identifier, doc_id(code, now))
    return _render(dossier, values, None, seq=now, document_id=opened, status=409,
                   refused=t("documents.renumbered", doc=identifier, now=doc_id(code, now)))
