"""An approved dossier's real TT05 package goes from the box's outbox to the real hub, validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.enrollment import enroll
from agent.sync import SyncContext, summary, sync_pass
from device.db import outbox, records
from device.db.events import events_for
from tests.device.archive import conftest as archive

# The archive tests' approved dossier (shot, processed, approved once per session), reused.
CODE = archive.CODE
approved_template = archive.approved_template
approved_root = archive.approved_root
approved_box = archive.approved_box

hubserver = pytest.importorskip("tests.agent.hubserver")


def test_a_built_package_is_swept_into_the_outbox_sent_validated_and_accepted(approved_box, tmp_path):
    from device.archive.package import build_package

    info = build_package(approved_box, CODE, actor="test")
    with hubserver.HubServer(tmp_path / "province", validate=None) as hub:  # the real validator
        enroll(approved_box, hub.url, hub.enrollment_code())
        result = sync_pass(approved_box, SyncContext(sleep=lambda s: None))
        stored = hub.stored()
    assert result.accepted == [info.sha256], result
    assert stored[info.sha256] == Path(info.path).read_bytes()
    row = outbox.upload_by_sha256(approved_box.db, info.sha256)
    assert row["receipt"]["receipt"]["verdict"] == "accepted" and row["file_code"] == CODE
    assert summary(approved_box)[0] is True
    # The dossier followed its package: packaged -> sent -> accepted, each in the audit trail.
    dossier = records.dossier_by_code(approved_box.db, CODE)
    assert dossier["state"] == "accepted"
    moves = [event["action"] for event in events_for(approved_box.db, "dossier", dossier["id"])]
    assert moves[-2:] == ["dossier.send", "dossier.accept"]
