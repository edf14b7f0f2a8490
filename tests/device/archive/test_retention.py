"""Raw captures are deleted only once the archive accepted their dossier's current version."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from device.db import outbox, records
from device.db.events import events_for
from device.fsck import check_box
from device.receipts import public_key_b64
from device.retention import deletable_raw_captures, delete_raw_captures
from tests.device.archive.conftest import CODE

LATER = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)


def raw_and_masters(box) -> tuple[list[str], list[str]]:
    raws = [row[0] for row in box.db.conn.execute("SELECT raw_sha256 FROM captures")]
    masters = [row[0] for row in box.db.conn.execute("SELECT master_sha256 FROM pages")]
    return raws, masters


@pytest.fixture
def delivered(approved_box):
    """The approved dossier packaged, queued and answered by the hub: accepted or rejected."""
    from agent.sync import accept_receipt
    from device.archive.package import build_package
    from tests.agent.conftest import set_agent, signed

    key = Ed25519PrivateKey.generate()
    package = build_package(approved_box, CODE, actor="minh")
    outbox.queue_package(approved_box, package)
    upload = outbox.upload_by_sha256(approved_box.db, package.sha256)
    set_agent(approved_box, retention_days=7)

    def answer(verdict: str) -> None:
        accept_receipt(approved_box, upload, signed(key, upload, verdict=verdict), public_key_b64(key))
    return approved_box, answer


def test_raw_captures_go_after_the_delay_once_the_archive_accepted_the_dossier(delivered):
    from agent import custody

    box, answer = delivered
    raws, masters = raw_and_masters(box)
    assert all(box.blobs.exists(sha) for sha in raws)
    custody.apply_retention(box, LATER)
    assert all(box.blobs.exists(sha) for sha in raws)  # no receipt yet: nothing goes

    answer("accepted")
    assert records.dossier_by_code(box.db, CODE)["state"] == "accepted"
    custody.apply_retention(box, dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=6))
    assert all(box.blobs.exists(sha) for sha in raws)  # not before the delay
    custody.apply_retention(box, LATER)
    assert not any(box.blobs.exists(sha) for sha in raws)
    assert all(box.blobs.exists(sha) for sha in masters)  # the pages themselves stay
    assert check_box(box).ok, check_box(box).problems  # gone on purpose, not missing
    deleted = [e for e in events_for(box.db, "capture") if e["action"] == "capture.raw_deleted"]
    assert len(deleted) == len(raws) and {e["actor"] for e in deleted} == {"agent"}


def test_a_rejected_dossier_keeps_its_raw_captures(delivered):
    from agent import custody

    box, answer = delivered
    raws, _ = raw_and_masters(box)
    answer("rejected")
    custody.apply_retention(box, LATER)
    assert all(box.blobs.exists(sha) for sha in raws)


def test_a_dossier_reopened_after_acceptance_keeps_its_raw_captures(delivered):
    from agent import custody
    from device.catalog.dossiers import move

    box, answer = delivered
    raws, _ = raw_and_masters(box)
    answer("accepted")
    move(box, CODE, "reopen", actor="minh", comment="sửa trang 2")
    custody.apply_retention(box, LATER)
    assert all(box.blobs.exists(sha) for sha in raws)


def test_bytes_shared_with_another_dossiers_capture_stay(approved_box):
    from device.db.pages import record_capture

    box = approved_box
    dossier = records.dossier_by_code(box.db, CODE)
    raws, _ = raw_and_masters(box)
    other = records.insert_dossier(box.db, "H49.64.33.2002.001", dossier["fonds_id"], {}, True)
    with box.db.conn:
        record_capture(box.db, raw_sha256=raws[0], media_type="image/jpeg", source="test",
                       dossier_id=other)
    due = deletable_raw_captures(box, [dossier["id"]])
    assert raws[0] not in due and set(due) == set(raws[1:])
    delete_raw_captures(box, [dossier["id"]], actor="agent")
    assert box.blobs.exists(raws[0]) and not any(box.blobs.exists(sha) for sha in raws[1:])
    assert check_box(box).ok


def test_a_page_whose_raw_capture_is_gone_cannot_be_turned_or_recornered_only_retaken(delivered):
    from agent import custody
    from device.catalog.dossiers import move
    from device.catalog.pages import rotate_page, set_corners
    from device.errors import StateError

    box, answer = delivered
    answer("accepted")
    custody.apply_retention(box, LATER)
    move(box, CODE, "reopen", actor="minh", comment="xoay trang 1")
    page_id = box.db.conn.execute("SELECT id FROM pages ORDER BY id LIMIT 1").fetchone()[0]
    queued = box.db.conn.execute("SELECT count(*) FROM jobs WHERE state = 'queued'").fetchone()[0]
    for change in (lambda: rotate_page(box, page_id, 90, actor="web:an"),
                   lambda: set_corners(box, page_id, [[0, 0], [9, 0], [9, 9], [0, 9]], actor="web:an")):
        with pytest.raises(StateError) as refused:
            change()
        assert "chụp lại" in refused.value.message_vi
    assert box.db.conn.execute("SELECT rotation FROM pages WHERE id = ?", [page_id]).fetchone()[0] == 0
    assert box.db.conn.execute("SELECT count(*) FROM jobs WHERE state = 'queued'").fetchone()[0] == queued
