"""The capture target holds its document by id: a split or merge in the page grid renumbers
documents, and the next shots still go into the document the operator chose (or are refused
when it is gone); a target file saved by an older box (by seq) is still read."""

from __future__ import annotations

import json

import pytest

from device.capture.client import ServiceError
from device.capture.service import TARGET_FILE
from device.catalog.pages import merge_document, split_document
from tests.device.capture.conftest import Cable, CabledCamera, running_service, wait_for


def _ready(service) -> None:
    wait_for(lambda: service.status()["camera"]["available"], "the camera")


def _document_id(box, dossier_code: str, seq: int) -> int:
    return box.db.conn.execute(
        "SELECT d.id FROM documents d JOIN dossiers s ON s.id = d.dossier_id "
        "WHERE s.file_code = ? AND d.seq = ?", (dossier_code, seq)).fetchone()[0]


def _two_documents(client, dossier_code: str) -> list[dict]:
    """Document 1 with two pages, document 2 with one; returns document 1's pages."""
    client.set_target(dossier_code)
    first = client.shoot(2)["pages"]
    client.set_target(dossier_code)
    client.shoot(1)
    return first


def test_after_a_split_the_next_shot_goes_into_the_chosen_document_not_its_old_number(box, dossier_code):
    with running_service(box, lambda: CabledCamera(Cable())) as (service, client):
        _ready(service)
        first = _two_documents(client, dossier_code)
        client.set_target(dossier_code, 2)
        chosen = _document_id(box, dossier_code, 2)
        split_document(box, first[1]["page"], actor="test")  # document 2 is now number 3
        assert client.target()["docId"] == f"{dossier_code}.3"
        [shot] = client.shoot(1)["pages"]
    assert shot["docId"] == f"{dossier_code}.3" and shot["position"] == 2
    document_of_page = box.db.conn.execute("SELECT document_id FROM pages WHERE id = ?",
                                           (shot["page"],)).fetchone()[0]
    assert document_of_page == chosen
    saved = json.loads((box.config.paths.data_dir / TARGET_FILE).read_text())
    assert saved == {"dossier": dossier_code, "document_id": chosen, "layout": "page"}


def test_a_target_whose_document_was_merged_away_is_refused_not_retargeted(box, dossier_code):
    with running_service(box, lambda: CabledCamera(Cable())) as (service, client):
        _ready(service)
        _two_documents(client, dossier_code)
        client.set_target(dossier_code, 2)
        merge_document(box, dossier_code, 2, actor="test")
        captures = box.db.conn.execute("SELECT count(*) FROM captures").fetchone()[0]
        with pytest.raises(ServiceError) as refused:
            client.shoot(1)
    assert refused.value.status == 404
    assert "không còn" in refused.value.message_vi
    assert "no longer exists" in refused.value.body["message_en"]  # for an English session
    assert box.db.conn.execute("SELECT count(*) FROM captures").fetchone()[0] == captures


def test_a_target_file_of_an_older_box_naming_the_seq_is_still_read(box, dossier_code):
    with running_service(box, lambda: CabledCamera(Cable())) as (service, client):
        _ready(service)
        _two_documents(client, dossier_code)
    saved = box.config.paths.data_dir / TARGET_FILE
    saved.write_text(json.dumps({"dossier": dossier_code, "document": 1, "layout": "page"}))
    with running_service(box, lambda: CabledCamera(Cable())) as (service, client):
        assert client.target()["docId"] == f"{dossier_code}.1"
        assert json.loads(saved.read_text())["document_id"] == _document_id(box, dossier_code, 1)
        _ready(service)
        [shot] = client.shoot(1)["pages"]
    assert (shot["docId"], shot["position"]) == (f"{dossier_code}.1", 3)
