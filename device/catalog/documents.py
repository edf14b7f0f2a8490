"""Creating and changing documents (tài liệu) of a dossier, each change audited."""

from __future__ import annotations

from typing import Any

from device.box import Box
from device.catalog.dossiers import load, network_allowed
from device.catalog.effective import document_values
from device.db import records, transaction
from device.db.events import record_event
from device.errors import InputError, NotFoundError
from device.records import lifecycle
from device.records.identifiers import doc_id, split_doc_id
from device.records.schema import document_fields
from device.records.validation import check_document, parse_input, require
from device.records.values import merge


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


def set_document_fields(box: Box, document_id_text: str, data: Any, *, actor: str,
                        source: str = "entered") -> list[str]:
    """Change fields of a document of an editable dossier (draft rules)."""
    updates = parse_input(document_fields(), data)
    with transaction(box.db):
        dossier, document = load_document(box, document_id_text)
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
