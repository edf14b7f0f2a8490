"""Creating, changing and removing documents (tài liệu) of a dossier, each change audited."""

from __future__ import annotations

import logging
from typing import Any

from device.box import Box
from device.catalog.dossiers import load, network_allowed
from device.catalog.effective import document_values
from device.db import pages as db_pages
from device.db import records, transaction
from device.db.events import record_event
from device.errors import InputError, NotFoundError, StateError
from device.records import lifecycle
from device.records.identifiers import doc_id, split_doc_id
from device.records.schema import FieldSpec, document_fields
from device.records.validation import check_document, parse_input, require
from device.records.values import merge

log = logging.getLogger(__name__)


def new_document(box: Box, dossier: dict[str, Any], *, actor: str) -> tuple[int, int]:
    """A new empty document at the end of an editable dossier; returns (id, seq)."""
    lifecycle.require_editable(dossier["state"])
    document_id, seq = records.insert_document(box.db, dossier["id"], {})
    record_event(box.db, actor, "document.create", "document", document_id,
                 {"docId": doc_id(dossier["file_code"], seq)})
    return document_id, seq


def load_document(box: Box, document_id_text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(dossier, document) for a docId; raises NotFoundError."""
    try:
        file_code, seq = split_doc_id(document_id_text)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    dossier = load(box, file_code)
    document = records.document_by_seq(box.db, dossier["id"], seq)
    if document is None:
        raise NotFoundError(f"no document {document_id_text!r}",
                            message_vi=f"Không có tài liệu “{document_id_text}”")
    return dossier, document


def seq_of_document(box: Box, dossier: dict[str, Any], document_id: int) -> int | None:
    """Where the document with this row id now is in the dossier (splits and merges renumber
    documents); None when it is no longer in it."""
    return next((row["seq"] for row in records.documents_of(box.db, dossier["id"])
                 if row["id"] == document_id), None)


def require_same_document(document: dict[str, Any], document_id: int | None,
                          document_id_text: str) -> None:
    """StateError unless the document found by its docId is the one a person opened
    (`document_id`, None: not checked): a split or merge meanwhile renumbers documents."""
    if document_id is not None and document["id"] != document_id:
        raise StateError(
            f"{document_id_text} is no longer the document that was opened (documents were "
            "split or merged meanwhile); nothing was changed",
            message_vi=f"“{document_id_text}” không còn là tài liệu bạn đã mở (trong lúc đó có "
                       "người tách hoặc gộp tài liệu); chưa thay đổi gì.")


def set_document_fields(box: Box, document_id_text: str, data: Any, *, actor: str,
                        source: str = "entered", document_id: int | None = None) -> list[str]:
    """Change fields of a document of an editable dossier (draft rules). With `document_id`
    (the row id of the document a form was opened on) it refuses when that docId now names
    another document."""
    updates = parse_input(document_fields(), data)
    with transaction(box.db):
        dossier, document = load_document(box, document_id_text)
        require_same_document(document, document_id, document_id_text)
        lifecycle.require_editable(dossier["state"])
        stored, skipped = merge(document["fields"], updates, source)  # type: ignore[arg-type]
        page_count = len(list(box.db.query("SELECT id FROM pages WHERE document_id = ?",
                                           [document["id"]])))
        values = document_values({**document, "fields": stored, "page_count": page_count}, dossier)
        require(check_document(values, "draft"), f"document {document_id_text}")
        records.update_document(box.db, document["id"], stored)
        records.update_dossier(box.db, dossier["id"],
                               network_allowed=network_allowed(box, dossier["id"], dossier["fields"]))
        record_event(box.db, actor, "document.update", "document", document["id"],
                     {"docId": document_id_text,
                      "changed": {k: updates[k] for k in updates if k not in skipped},
                      "source": source})
    return skipped


def filled_fields(document: dict[str, Any]) -> list[FieldSpec]:
    """The TT05 fields the document holds a value for (entered, confirmed or suggested), in
    form order: what merging it away or removing it would drop."""
    stored = document["fields"]
    return [spec for name, spec in document_fields().items() if name in stored]


def document_with_count(box: Box, file_code: str, seq: int,
                        document_id: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(dossier, document with its page_count) for document `seq`; NotFoundError when there is
    none, StateError when it is not the document `document_id` a person opened."""
    dossier = load(box, file_code)
    identifier = doc_id(file_code, seq)
    document = next((row for row in records.documents_of(box.db, dossier["id"])
                     if row["seq"] == seq), None)
    if document is None:
        raise NotFoundError(f"no document {identifier!r}",
                            message_vi=f"Không có tài liệu “{identifier}”")
    require_same_document(document, document_id, identifier)
    return dossier, document


def remove_empty_document(box: Box, file_code: str, seq: int, *, actor: str,
                          document_id: int | None = None) -> None:
    """Remove document `seq` of an editable dossier when it holds no pages (its fields are kept
    in the audit event); later documents move one seq down."""
    identifier = doc_id(file_code, seq)
    with transaction(box.db):
        dossier, document = document_with_count(box, file_code, seq, document_id)
        lifecycle.require_editable(dossier["state"])
        if document["page_count"]:
            raise StateError(
                f"{identifier} holds {document['page_count']} pages; only a document without "
                "pages can be removed",
                message_vi=f"Tài liệu {identifier} còn {document['page_count']} trang: chỉ bỏ được "
                           "tài liệu không có trang nào.")
        db_pages.delete_empty_document(box.db, document["id"])
        db_pages.shift_documents(box.db, dossier["id"], seq + 1, -1)
        records.update_dossier(box.db, dossier["id"],
                               network_allowed=network_allowed(box, dossier["id"], dossier["fields"]))
        record_event(box.db, actor, "document.remove", "document", document["id"], {
            "docId": identifier, "fields": document["fields"]})
    log.info("%s removed (empty; later documents renumbered)", identifier)
