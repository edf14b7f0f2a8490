"""Dossiers and documents as plain data keyed by TT05 element names (the CLI's --json and the API).

Published keys are never renamed (docs/cli.md describes them).
"""

from __future__ import annotations

from typing import Any

from device.box import Box
from device.catalog.dossiers import load
from device.catalog.effective import document_values, dossier_values
from device.db import records
from device.db.pages import dossier_counts, pages_of
from device.records.schema import document_fields, dossier_fields


def _ordered(values: dict[str, Any], names: list[str]) -> dict[str, Any]:
    return {name: values.get(name) for name in names}


def page_json(page: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": page["id"], "position": page["position"], "side": page["side"],
        "sheet": page["sheet"], "frame": page["frame"], "state": page["state"],
        "blank": bool(page["blank"]), "qcFlags": page["qc_flags"], "dpi": page["dpi"],
        "rawSha256": page["raw_sha256"], "masterSha256": page["master_sha256"],
        "ocrImageSha256": page["ocr_image_sha256"], "hocrSha256": page["hocr_sha256"],
        "ocrConfidence": page["ocr_confidence"], "error": page["error"],
    }


def document_json(box: Box, dossier: dict[str, Any], document: dict[str, Any],
                  page_limit: int | None = None) -> dict[str, Any]:
    values = document_values(document, dossier)
    data = _ordered(values, list(document_fields()))
    data["numberOfPaper"] = document["sheet_count"]
    data["fieldSources"] = {name: entry["source"] for name, entry in document["fields"].items()}
    data["pages"] = [page_json(page) for page in pages_of(box.db, document["id"], page_limit)]
    return data


def dossier_json(box: Box, file_code: str, page_limit: int | None = None) -> dict[str, Any]:
    """Everything `sohoa dossier show --json` prints; with `page_limit`, only that many pages
    of each document (a screen that shows a few need not read a thousand)."""
    dossier = load(box, file_code)
    values = dossier_values(dossier, dossier_counts(box.db, dossier["id"]))
    data = _ordered(values, list(dossier_fields()))
    data.update(_header(dossier))
    data["fieldSources"] = {name: entry["source"] for name, entry in dossier["fields"].items()}
    data["documents"] = [document_json(box, dossier, document, page_limit)
                         for document in records.documents_of(box.db, dossier["id"])]
    return data


def _header(dossier: dict[str, Any]) -> dict[str, Any]:
    return {
        "state": dossier["state"], "version": dossier["version"],
        "agencyId": dossier["agency_id"], "archiveCode": dossier["archive_code"] or None,
        "fondsCode": dossier["fonds_code"], "fondsName": dossier["fonds_name"] or None,
        "networkAllowed": bool(dossier["network_allowed"]),
        "createdAt": dossier["created_at"], "updatedAt": dossier["updated_at"],
    }


def dossier_list_json(box: Box) -> list[dict[str, Any]]:
    """One line of data per dossier for `sohoa dossier list --json`."""
    return [{"fileCode": row["file_code"], "title": row["fields"].get("title", {}).get("value"),
             **_header(row), "totalDoc": row["document_count"], "numberOfPage": row["page_count"]}
            for row in records.list_dossiers(box.db)]
