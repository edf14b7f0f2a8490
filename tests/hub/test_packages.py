"""What the hub does with a whole package: validate, store once by SHA-256, sign a receipt.

Bad packages (a zip bomb, `../` paths, lying checksums) get a signed `rejected` receipt with
reasons and are stored nowhere; a real TT05 package from the box is accepted, stored
byte-identical, and a second upload of it stores nothing new. The official tus client
(`tuspy`) uploads to the hub too.
"""

from __future__ import annotations

import io
import zipfile

import pytest

from device.receipts import verify_receipt
from tests.hub.conftest import upload_whole, zip_package


@pytest.fixture
def client(running_hub, device):
    with running_hub.client(device["token"]) as opened:
        yield opened


def _receipt(client, data_sha256: str, key: str):
    answer = client.get(f"/api/v1/packages/{data_sha256}")
    assert answer.status_code == 200
    return verify_receipt(answer.json()["receipt"], key)


def _rejected_and_stored_nowhere(running_hub, client, device, data: bytes, reason: str):
    import hashlib

    upload_whole(client, data, package_id="bad-1")
    receipt = _receipt(client, hashlib.sha256(data).hexdigest(), device["hub_public_key"])
    assert receipt.verdict == "rejected" and receipt.size == len(data)
    assert any(r.startswith(reason) for r in receipt.reasons), receipt.reasons
    assert running_hub.stored_files() == [] and running_hub.partial_files() == []
    return receipt


def test_a_zip_bomb_is_rejected_with_a_signed_receipt_and_stored_nowhere(running_hub, client,
                                                                          device):
    bomb = zip_package({"pkg/representations/rep1/data/a.pdf": b"\0" * (40 << 20)})
    assert len(bomb) < 100_000
    _rejected_and_stored_nowhere(running_hub, client, device, bomb, "zip.bomb")


def test_a_zip_with_parent_paths_is_rejected(running_hub, client, device):
    evil = zip_package({"pkg/METS.xml": b"<x/>", "pkg/../../etc/cron.d/evil": b"* * * * * root"})
    _rejected_and_stored_nowhere(running_hub, client, device, evil, "zip.unsafe_path")


def test_a_file_that_is_not_a_zip_is_rejected(running_hub, client, device):
    _rejected_and_stored_nowhere(running_hub, client, device, b"%PDF-1.7 not a zip" * 50,
                                 "zip.corrupt")


def test_a_real_package_is_accepted_stored_byte_identical_and_listed(running_hub, client, device,
                                                                      real_package):
    upload_whole(client, real_package.data, package_id=real_package.package_id)
    receipt = _receipt(client, real_package.sha256, device["hub_public_key"])
    assert receipt.verdict == "accepted" and receipt.reasons == []
    assert (receipt.package_id, receipt.device_id, receipt.hub_id) == (
        real_package.package_id, device["device_id"], "hub-test")
    [stored] = running_hub.stored_files()
    assert stored.read_bytes() == real_package.data


def test_an_identical_second_upload_stores_nothing_new(running_hub, client, device, real_package):
    upload_whole(client, real_package.data, package_id=real_package.package_id)
    first = client.get(f"/api/v1/packages/{real_package.sha256}").json()
    [stored] = running_hub.stored_files()
    inode = stored.stat().st_ino
    upload_whole(client, real_package.data, package_id=real_package.package_id)
    assert client.get(f"/api/v1/packages/{real_package.sha256}").json() == first
    assert [p.stat().st_ino for p in running_hub.stored_files()] == [inode]
    from hub import catalog

    db = running_hub.hub.catalog()
    try:
        assert len(catalog.packages(db)) == 1
    finally:
        db.close()


def test_a_package_whose_checksums_lie_is_rejected_and_stored_nowhere(running_hub, client,
                                                                      device, real_package):
    source = zipfile.ZipFile(real_package.path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as forged:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith(".pdf"):
                data = data.replace(b"/Producer", b"/Producex", 1) or data + b" "
            forged.writestr(info, data)
    receipt = _rejected_and_stored_nowhere(running_hub, client, device, buffer.getvalue(), "")
    assert any("checksum" in r or "sha256" in r.lower() for r in receipt.reasons), receipt.reasons


def test_tuspy_the_official_client_uploads_a_package_byte_identical(running_hub, device,
                                                                     real_package):
    from tusclient.client import TusClient

    client = TusClient(f"{running_hub.url}/api/v1/uploads/",
                       headers={"Authorization": f"Bearer {device['token']}"})
    # A stream we close ourselves: given a path, tuspy leaves files open (ResourceWarning).
    with real_package.path.open("rb") as stream:
        uploader = client.uploader(file_stream=stream, chunk_size=256 << 10, upload_checksum=True,
                                   metadata={"filename": real_package.path.name,
                                             "sha256": real_package.sha256,
                                             "package_id": real_package.package_id})
        uploader.upload()
    [stored] = running_hub.stored_files()
    assert stored.read_bytes() == real_package.data
    with running_hub.client(device["token"]) as httpx_client:
        receipt = _receipt(httpx_client, real_package.sha256, device["hub_public_key"])
    assert receipt.verdict == "accepted"
