"""The values a dossier or document really has: stored, inherited, defaulted and computed."""

from __future__ import annotations

from typing import Any

from device.records import identifiers
from device.records.schema import document_fields, dossier_fields
from device.records.values import plain


def dossier_values(dossier: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
    """The dossier's stored values plus its computed counts and fileCode."""
    values = plain(dossier["fields"])
    values["fileCode"] = dossier["file_code"]
    values.update(counts)
    return values


def document_values(document: dict[str, Any], dossier: dict[str, Any]) -> dict[str, Any]:
    """The document's values; maintenance, language and mode fall back to the dossier's."""
    parent = plain(dossier["fields"])
    values = {}
    for name, spec in document_fields().items():
        if spec.inherit and parent.get(name) is not None:
            values[name] = parent[name]
        elif spec.default is not None:
            values[name] = spec.default
    values.update(plain(document["fields"]))
    values["docId"] = identifiers.doc_id(dossier["file_code"], document["seq"])
    values["docCode"] = identifiers.doc_code(dossier["file_code"], document["seq"])
    values["numberOfPage"] = document["page_count"]
    return values


def dossier_defaults(box_defaults: dict[str, Any]) -> dict[str, Any]:
    """Values a new dossier starts with when the input does not give them."""
    defaults = {name: spec.default for name, spec in dossier_fields().items()
                if spec.default is not None}
    defaults.update(box_defaults)
    return defaults
