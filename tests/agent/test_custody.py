"""Receipts, the second copy, retention and the health report, on a real box database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent import custody, health
from agent.errors import ReceiptRefused
from agent.sync import accept_receipt
from device.db import outbox
from device.db.events import events_for
from device.receipts import public_key_b64
from tests.agent.conftest import FakePackage, set_agent, signed


def test_queueing_a_package_twice_keeps_one_row_linked_to_its_dossier(box, dossier_code, make_package):
    upload = make_package(file_code=dossier_code)
    again = FakePackage(upload["local_path"], upload["sha256"], upload["size"], upload["package_id"],
                        dossier_code)
    outbox.queue_package(box, again)
    rows = outbox.all_uploads(box.db)
    assert len(rows) == 1 and rows[0]["file_code"] == dossier_code and rows[0]["state"] == "queued"


def test_a_verified_receipt_accepts_the_upload_and_is_kept(box, make_package, hub_key):
    upload = make_package()
    assert accept_receipt(box, upload, signed(hub_key, upload), public_key_b64(hub_key)) == "accepted"
    stored = outbox.upload_by_sha256(box.db, upload["sha256"])
    assert stored["state"] == "accepted" and stored["receipt_verified_at"]
    assert stored["receipt"]["receipt"]["sha256"] == upload["sha256"]
    assert [e["action"] for e in events_for(box.db, "package", upload["sha256"])] == ["package.accepted"]


@pytest.mark.parametrize("forgery", ["unsigned", "other_key", "other_sha", "other_size", "edited"])
def test_a_forged_or_foreign_receipt_is_refused_and_nothing_changes(box, make_package, hub_key, forgery):
    upload = make_package()
    other = make_package()
    document = {
        "unsigned": lambda: {"receipt": signed(hub_key, upload)["receipt"]},
        "other_key": lambda: signed(Ed25519PrivateKey.generate(), upload),
        "other_sha": lambda: signed(hub_key, other),
        "other_size": lambda: signed(hub_key, upload, size=upload["size"] + 1),
        "edited": lambda: {**signed(hub_key, upload, verdict="rejected"),
                           "receipt": signed(hub_key, upload)["receipt"]},
    }[forgery]()
    with pytest.raises(ReceiptRefused):
        accept_receipt(box, upload, document, public_key_b64(hub_key))
    assert outbox.upload_by_sha256(box.db, upload["sha256"])["state"] == "queued"


def test_retention_by_default_deletes_nothing_even_after_an_accepted_receipt(box, make_package, hub_key):
    upload = make_package()
    accept_receipt(box, upload, signed(hub_key, upload), public_key_b64(hub_key))
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3650)
    assert custody.apply_retention(box, later) == []
    assert Path(upload["local_path"]).is_file()
    assert outbox.upload_by_sha256(box.db, upload["sha256"])["local_deleted_at"] is None


def test_retention_deletes_only_accepted_packages_after_the_delay(box, make_package, hub_key):
    set_agent(box, retention_days=7)
    accepted, rejected, pending = make_package(), make_package(), make_package()
    key = public_key_b64(hub_key)
    accept_receipt(box, accepted, signed(hub_key, accepted), key)
    accept_receipt(box, rejected, signed(hub_key, rejected, verdict="rejected"), key)
    now = dt.datetime.now(dt.timezone.utc)
    assert custody.apply_retention(box, now + dt.timedelta(days=6)) == []
    assert custody.apply_retention(box, now + dt.timedelta(days=8)) == [accepted["sha256"]]
    assert not Path(accepted["local_path"]).exists()
    assert Path(rejected["local_path"]).exists() and Path(pending["local_path"]).exists()


def test_retention_rule_needs_a_verified_accepted_receipt():
    row = {"state": "accepted", "receipt_verified_at": None, "receipt": None}
    assert not custody.retention_due(row, 0)
    row = {"state": "accepted", "receipt_verified_at": "2020-01-01T00:00:00+00:00",
           "receipt": {"receipt": {"verdict": "accepted"}}}
    assert custody.retention_due(row, 0) and not custody.retention_due(row, None)


def test_second_copy_is_made_verified_and_dropped_on_acceptance(box, make_package, hub_key, tmp_path):
    usb = tmp_path / "usb"
    usb.mkdir()
    set_agent(box, second_copy_dir=usb)
    upload = make_package()
    copy = custody.ensure_second_copy(box, upload)
    assert copy.read_bytes() == Path(upload["local_path"]).read_bytes()
    assert health.second_copy_warning(box) is None
    upload = outbox.upload_by_sha256(box.db, upload["sha256"])
    accept_receipt(box, upload, signed(hub_key, upload), public_key_b64(hub_key))
    assert not copy.exists()


def test_health_warns_without_a_second_copy_medium_and_counts_the_queue(box, make_package):
    make_package(1000), make_package(3000)
    report = health.health(box)
    assert report["queue_depth"] == 2 and report["bytes_pending"] == 4000
    assert report["warnings"] == ["no second copy medium is configured (agent.second_copy_dir)"]
    assert report["disk_free_bytes"] > 0 and report["version"]


def test_cpu_temperature_prefers_the_cpu_zone(tmp_path):
    for name, kind, milli in [("thermal_zone0", "gpu-thermal", "70000"),
                              ("thermal_zone1", "cpu-thermal", "48312")]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "type").write_text(kind + "\n")
        (tmp_path / name / "temp").write_text(milli + "\n")
    assert health.cpu_temperature(tmp_path) == pytest.approx(48.312)
    assert health.cpu_temperature(tmp_path / "absent") is None
