"""USB export (packages, manifest last) and receipts brought back on the drive."""

from __future__ import annotations

import hashlib
import json

from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from device.cli.main import cli
from device.db import outbox
from tests.agent.conftest import signed


def sohoa(box, config_file, *args):
    return CliRunner().invoke(cli, ["--data", str(box.config.paths.data_dir), "--config",
                                    str(config_file), *map(str, args)], catch_exceptions=False)


def test_export_writes_every_waiting_package_and_the_manifest_last(box, config_file, make_package,
                                                                   hub_key, pin, tmp_path):
    pin()
    waiting, done = make_package(5000), make_package(7000)
    outbox.record_receipt(box.db, done["id"], signed(hub_key, done), "accepted")
    drive = tmp_path / "usb"
    drive.mkdir()
    (drive / "manifest.json").write_text("{}")  # left by an earlier export
    result = sohoa(box, config_file, "export", "--to", drive, "--json")
    assert result.exit_code == 0, result.output
    manifest = json.loads((drive / "manifest.json").read_text())
    assert [p["sha256"] for p in manifest["packages"]] == [waiting["sha256"]]
    entry = manifest["packages"][0]
    assert hashlib.sha256((drive / entry["name"]).read_bytes()).hexdigest() == entry["sha256"]


def test_an_export_that_fails_part_way_leaves_no_manifest(box, config_file, make_package, tmp_path):
    make_package(1000)
    second = make_package(2000)
    drive = tmp_path / "usb"
    drive.mkdir()
    (drive / "manifest.json").write_text("{}")  # left by an earlier export
    blocker = drive / f"{second['sha256'][:16]}-{second['local_path'].rsplit('/', 1)[-1]}"
    blocker.mkdir()  # the second copy cannot be written
    result = sohoa(box, config_file, "export", "--to", drive)
    assert result.exit_code == 74
    assert not (drive / "manifest.json").exists()


def test_receipts_import_takes_verified_receipts_and_refuses_forgeries(box, config_file, make_package,
                                                                        hub_key, pin, tmp_path):
    pin()
    good, forged = make_package(1000), make_package(2000)
    folder = tmp_path / "usb" / "receipts"
    folder.mkdir(parents=True)
    (folder / "good.json").write_text(json.dumps(signed(hub_key, good)))
    (folder / "forged.json").write_text(json.dumps(signed(Ed25519PrivateKey.generate(), forged)))
    result = sohoa(box, config_file, "receipts", "import", tmp_path / "usb", "--json")
    assert result.exit_code == 76
    outcome = json.loads(result.stdout)
    assert outcome["accepted"] == ["good.json"] and outcome["refused"] == ["forged.json"]
    assert outbox.upload_by_sha256(box.db, good["sha256"])["state"] == "accepted"
    assert outbox.upload_by_sha256(box.db, forged["sha256"])["state"] == "queued"


def test_receipts_need_a_pinned_key(box, config_file, make_package, tmp_path):
    result = sohoa(box, config_file, "receipts", "import", tmp_path)
    assert result.exit_code == 69 and "enroll" in result.output
