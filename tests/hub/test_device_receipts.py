"""Receipts belong to one device: the bytes are judged and stored once, by what they are, and
each device that sent them gets, and sees, only its own signed receipt."""

from __future__ import annotations

import hashlib
import json
import os

from device.receipts import verify_receipt
from tests.hub.conftest import upload_whole, zip_package


def _receipt(client, sha256: str, key: str):
    answer = client.get(f"/api/v1/packages/{sha256}")
    assert answer.status_code == 200, answer.text
    return verify_receipt(answer.json()["receipt"], key)


def test_another_device_sending_the_same_bytes_first_with_a_false_id_cannot_get_them_refused(
        running_hub, device, real_package):
    other = running_hub.enroll("xa-ke-ben")
    with running_hub.client(other["token"]) as intruder:
        upload_whole(intruder, real_package.data, package_id="gia-mao")
        theirs = _receipt(intruder, real_package.sha256, other["hub_public_key"])
    assert theirs.device_id == "xa-ke-ben" and theirs.package_id == real_package.package_id
    with running_hub.client(device["token"]) as owner:
        upload_whole(owner, real_package.data, package_id=real_package.package_id)
        mine = _receipt(owner, real_package.sha256, device["hub_public_key"])
    assert (mine.verdict, mine.reasons, mine.device_id, mine.package_id) == (
        "accepted", [], device["device_id"], real_package.package_id)
    [stored] = running_hub.stored_files()
    assert stored.read_bytes() == real_package.data


def test_rejection_depends_on_the_bytes_alone(running_hub, device):
    bomb = zip_package({"pkg/representations/rep1/data/a.pdf": b"\0" * (40 << 20)})
    sha256 = hashlib.sha256(bomb).hexdigest()
    other = running_hub.enroll("xa-ke-ben")
    with running_hub.client(other["token"]) as first, running_hub.client(device["token"]) as second:
        upload_whole(first, bomb, package_id="mot")
        upload_whole(second, bomb, package_id="hai")
        one = _receipt(first, sha256, other["hub_public_key"])
        two = _receipt(second, sha256, device["hub_public_key"])
    assert one.verdict == two.verdict == "rejected" and one.reasons == two.reasons
    assert (one.device_id, two.device_id) == ("xa-ke-ben", device["device_id"])
    assert running_hub.stored_files() == []


def test_a_device_cannot_read_another_devices_receipt_and_sending_the_bytes_stores_them_once(
        running_hub, device):
    data = os.urandom(5000)
    sha256 = hashlib.sha256(data).hexdigest()
    with running_hub.client(device["token"]) as owner:
        upload_whole(owner, data)
        first = owner.get(f"/api/v1/packages/{sha256}").json()
    other = running_hub.enroll("xa-ke-ben")
    with running_hub.client(other["token"]) as stranger:
        assert stranger.get(f"/api/v1/packages/{sha256}").status_code == 404
        upload_whole(stranger, data)  # 404 above: it sends the bytes, the hub keeps one copy
        theirs = _receipt(stranger, sha256, other["hub_public_key"])
    assert theirs.device_id == "xa-ke-ben"
    assert theirs.verdict == first["receipt"]["receipt"]["verdict"]
    with running_hub.client(device["token"]) as owner:
        assert owner.get(f"/api/v1/packages/{sha256}").json() == first
    assert running_hub.partial_files() == []


def test_the_catalog_migration_gives_each_old_receipt_to_the_device_that_sent_it(tmp_path):
    from device.db.migrations import migrate as run
    from hub import catalog
    from hub.db import MIGRATIONS, migrate, open_catalog

    db = open_catalog(tmp_path / "hub.db", migrated=False)
    try:
        run(db, MIGRATIONS[:1])  # a catalog written before receipts were per device
        db.conn.execute("INSERT INTO packages (sha256, package_id, size, device_id, source,"
                        " verdict, stored, received_at)"
                        " VALUES (?, 'p', 1, 'xa-cu', 'tus', 'accepted', 1,"
                        " '2026-01-01T00:00:00+00:00')", ("a" * 64,))
        old = {"receipt": {"sha256": "a" * 64, "package_id": "p"}, "signature": "s"}
        db.conn.execute("INSERT INTO receipts (sha256, document) VALUES (?, ?)",
                        ("a" * 64, json.dumps(old)))
        db.conn.commit()
        assert migrate(db) == ["0002_receipts_per_device"]
        assert catalog.receipt(db, "a" * 64, "xa-cu") == old
        assert catalog.receipt(db, "a" * 64, "xa-khac") is None
        assert [row["device_id"] for row in catalog.packages(db)] == ["xa-cu"]
    finally:
        db.close()
