"""`sohoa hub …`: serve as a real process, enroll/revoke, list packages, staff users, USB import."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from device.cli.main import cli
from device.receipts import verify_receipt
from tests.hub.conftest import HUB_CONFIG


@pytest.fixture
def sohoa_hub(tmp_path: Path):
    config = tmp_path / "hub.toml"
    config.write_text(HUB_CONFIG, encoding="utf-8")

    def run(*args: str):
        return CliRunner().invoke(cli, ["--data", str(tmp_path / "hubdata"), "--config",
                                        str(config), "hub", *map(str, args)],
                                  catch_exceptions=False)
    run.config, run.data = config, tmp_path / "hubdata"
    return run


def test_serve_runs_waitress_and_answers_a_code_from_enroll(sohoa_hub):
    code = sohoa_hub("enroll", "--device", "xa-thu").stdout.strip()
    assert len(code) == 19 and code.count("-") == 3
    command = [str(Path(sys.executable).with_name("sohoa")), "--data", str(sohoa_hub.data),
               "--config", str(sohoa_hub.config), "hub", "serve", "--bind", "127.0.0.1:0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, process.stderr.read()
        url = line.split("listening on ")[1].strip()
        answer = httpx.post(f"{url}/api/v1/enroll",
                            json={"code": code, "box_name": "b", "version": "1"})
        assert answer.status_code == 200 and answer.json()["device_id"] == "xa-thu"
        assert httpx.options(f"{url}/api/v1/uploads/").headers["Tus-Resumable"] == "1.0.0"
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


def test_revoke_of_an_unknown_device_exits_66(sohoa_hub):
    result = sohoa_hub("revoke", "--device", "khong-co")
    assert result.exit_code == 66 and "no device" in result.stderr


def test_user_add_refuses_a_short_password(sohoa_hub):
    assert sohoa_hub("user", "add", "lan", "--password", "short").exit_code == 65
    created = sohoa_hub("user", "add", "lan")
    assert created.exit_code == 0 and "with password" in created.stdout


def _enrolled(sohoa_hub, device_id: str = "xa-thu") -> str:
    """Enroll `device_id` at the CLI's hub as its box would (code, then the exchange)."""
    from hub.db import open_catalog
    from hub.devices import enroll

    code = sohoa_hub("enroll", "--device", device_id).stdout.strip()
    db = open_catalog(sohoa_hub.data / "hub" / "hub.db")
    try:
        enroll(db, code, f"box-{device_id}", "1")
    finally:
        db.close()
    return device_id


def _export(folder: Path, packages: dict[str, bytes], device_id: str = "xa-thu") -> None:
    folder.mkdir()
    entries = []
    for name, data in packages.items():
        (folder / name).write_bytes(data)
        entries.append({"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                        "package_id": f"id-{name}", "file_code": "H49.64.33.2001.160"})
    manifest = {"format": "sohoa-usb-export/1", "box_name": "box", "device_id": device_id,
                "packages": entries}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_usb_import_takes_complete_packages_and_reports_a_partial_copy(sohoa_hub, tmp_path,
                                                                       real_package):
    drive = tmp_path / "usb"
    _export(drive, {"good.zip": real_package.data, "missing.zip": b"m" * 100,
                    "damaged.zip": b"d" * 100})
    manifest = json.loads((drive / "manifest.json").read_text())
    for entry in manifest["packages"]:
        if entry["name"] == "good.zip":
            entry["package_id"] = real_package.package_id
    (drive / "manifest.json").write_text(json.dumps(manifest))
    (drive / "missing.zip").unlink()
    (drive / "damaged.zip").write_bytes(b"e" * 100)
    _enrolled(sohoa_hub)
    result = sohoa_hub("import", drive, "--device", "xa-thu", "--json")
    assert result.exit_code == 65
    outcome = json.loads(result.stdout)
    assert outcome["accepted"] == ["good.zip"]
    assert sorted(line.split(":")[0] for line in outcome["incomplete"]) == ["damaged.zip",
                                                                            "missing.zip"]
    receipts = sorted((drive / "receipts").glob("*.json"))
    assert [p.name for p in receipts] == [f"{real_package.sha256}.json"]
    key = json.loads(sohoa_hub("info").stdout)["public_key"]
    receipt = verify_receipt(json.loads(receipts[0].read_text()), key)
    assert (receipt.verdict, receipt.device_id, receipt.sha256) == (
        "accepted", "xa-thu", real_package.sha256)
    assert (drive / "good.zip").read_bytes() == real_package.data  # the drive is left as it was
    listed = json.loads(sohoa_hub("packages", "--json").stdout)
    assert [(p["sha256"], p["source"], p["verdict"]) for p in listed] == [
        (real_package.sha256, "usb", "accepted")]
    again = sohoa_hub("import", drive, "--device", "xa-thu", "--json")
    assert json.loads(again.stdout)["accepted"] == ["good.zip"]
    assert len(json.loads(sohoa_hub("packages", "--json").stdout)) == 1


def test_usb_import_without_a_manifest_imports_nothing(sohoa_hub, tmp_path):
    drive = tmp_path / "usb"
    drive.mkdir()
    (drive / "a.zip").write_bytes(b"x")
    result = sohoa_hub("import", drive, "--device", _enrolled(sohoa_hub))
    assert result.exit_code == 65 and "manifest" in result.stderr
    assert json.loads(sohoa_hub("packages", "--json").stdout) == []


def test_usb_import_believes_no_manifest_only_an_enrolled_device_the_staff_name(sohoa_hub,
                                                                                tmp_path):
    drive = tmp_path / "usb"
    _export(drive, {"a.zip": b"a" * 100}, device_id="xa-thu")
    # Never enrolled, or not the device the manifest names: nothing taken in, no receipt.
    assert sohoa_hub("import", drive, "--device", "xa-thu").exit_code == 66
    assert sohoa_hub("import", drive).exit_code == 2  # --device is required
    _enrolled(sohoa_hub, "xa-thu")
    _enrolled(sohoa_hub, "xa-khac")
    other = sohoa_hub("import", drive, "--device", "xa-khac")
    assert other.exit_code == 65 and "xa-thu" in other.stderr
    assert sohoa_hub("revoke", "--device", "xa-thu").exit_code == 0
    revoked = sohoa_hub("import", drive, "--device", "xa-thu")
    assert revoked.exit_code == 69 and "revoked" in revoked.stderr
    assert json.loads(sohoa_hub("packages", "--json").stdout) == []
    assert not (drive / "receipts").exists()


def test_the_signing_key_is_private_and_stable_across_runs(sohoa_hub):
    first = json.loads(sohoa_hub("info").stdout)
    second = json.loads(sohoa_hub("info").stdout)
    assert first["public_key"] == second["public_key"] and first["hub_id"] == "hub-test"
    key = sohoa_hub.data / "hub" / "secrets" / "receipt_signing.pem"
    assert os.stat(key).st_mode & 0o077 == 0
