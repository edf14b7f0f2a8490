"""The hub's tus 1.0 endpoint: discovery, creation, resume after a cut, checksums, termination,
expiry, and malformed requests refused with the right status and nothing kept."""

from __future__ import annotations

import datetime as dt
import hashlib
import os

import pytest

from tests.hub.conftest import create_upload, metadata_header, patch, tus_headers, zip_package


@pytest.fixture
def client(running_hub, device):
    with running_hub.client(device["token"]) as opened:
        yield opened


def test_options_advertises_the_extensions_checksums_and_max_size(running_hub):
    with running_hub.client() as client:
        answer = client.options("/api/v1/uploads/")
    assert answer.status_code == 204
    assert answer.headers["Tus-Version"] == "1.0.0"
    assert set(answer.headers["Tus-Extension"].split(",")) == {
        "creation", "checksum", "termination", "expiration"}
    assert set(answer.headers["Tus-Checksum-Algorithm"].split(",")) == {"sha1", "sha256"}
    assert int(answer.headers["Tus-Max-Size"]) == 64 << 20


def test_an_upload_cut_half_way_resumes_from_the_committed_offset(running_hub, client):
    data = zip_package({"a/big.bin": os.urandom(600_000)})
    location = create_upload(client, data)
    head = client.head(location, headers=tus_headers())
    assert head.headers["Upload-Offset"] == "0" and head.headers["Upload-Length"] == str(len(data))
    assert "Upload-Expires" in head.headers
    half = len(data) // 2
    assert patch(client, location, data[:half], 0).status_code == 204
    # The link drops; the box comes back and asks where to continue.
    head = client.head(location, headers=tus_headers())
    assert head.status_code == 200 and int(head.headers["Upload-Offset"]) == half
    final = patch(client, location, data[half:], half)
    assert final.status_code == 204 and final.headers["Upload-Offset"] == str(len(data))
    receipt = client.get(f"/api/v1/packages/{hashlib.sha256(data).hexdigest()}").json()["receipt"]
    assert receipt["receipt"]["size"] == len(data)
    assert running_hub.partial_files() == []


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_a_chunk_whose_checksum_fails_is_460_and_the_offset_does_not_move(client, algorithm):
    data = os.urandom(4000)
    location = create_upload(client, data)
    assert patch(client, location, data[:1000], 0, algorithm).status_code == 204
    wrong = hashlib.new(algorithm, b"something else").digest()
    answer = patch(client, location, data[1000:2000], 1000, algorithm, checksum=wrong)
    assert answer.status_code == 460
    assert client.head(location, headers=tus_headers()).headers["Upload-Offset"] == "1000"
    assert patch(client, location, data[1000:2000], 1000, algorithm).status_code == 204


def test_a_partial_file_holds_exactly_the_committed_bytes_after_a_refused_chunk(running_hub, client):
    data = os.urandom(3000)
    location = create_upload(client, data)
    patch(client, location, data[:1000], 0)
    patch(client, location, data[1000:], 1000, checksum=b"\0" * 32)
    [partial] = running_hub.partial_files()
    assert partial.read_bytes() == data[:1000]


def test_termination_deletes_the_bytes_and_the_upload_is_gone(running_hub, client):
    data = os.urandom(3000)
    location = create_upload(client, data)
    patch(client, location, data[:1000], 0)
    assert client.delete(location, headers=tus_headers()).status_code == 204
    assert running_hub.partial_files() == []
    assert client.head(location, headers=tus_headers()).status_code == 404
    assert patch(client, location, data[1000:], 1000).status_code == 404


def test_expired_uploads_are_deleted_by_the_cleanup(running_hub, client):
    from hub.uploads import expire_uploads

    data = os.urandom(3000)
    location = create_upload(client, data)
    patch(client, location, data[:1000], 0)
    db = running_hub.hub.catalog()
    try:
        assert expire_uploads(running_hub.hub, db) == 0  # not yet
        later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=73)
        assert expire_uploads(running_hub.hub, db, later) == 1
    finally:
        db.close()
    assert running_hub.partial_files() == []
    assert client.head(location, headers=tus_headers()).status_code == 404


def test_an_upload_longer_than_the_max_size_is_413_and_nothing_is_created(running_hub, client):
    answer = client.post("/api/v1/uploads/", headers=tus_headers(**{
        "Upload-Length": str((64 << 20) + 1), "Upload-Metadata": metadata_header("a" * 64)}))
    assert answer.status_code == 413 and answer.json()["error"] == "tus.too_large"
    assert running_hub.partial_files() == []


def test_a_chunk_over_the_chunk_limit_is_413(client):
    data = os.urandom((4 << 20) + 10)
    location = create_upload(client, data)
    assert patch(client, location, data, 0).status_code == 413
    assert client.head(location, headers=tus_headers()).headers["Upload-Offset"] == "0"


def test_a_request_without_tus_resumable_is_412(running_hub, client):
    answer = client.post("/api/v1/uploads/", headers={
        "Upload-Length": "10", "Upload-Metadata": metadata_header("a" * 64)})
    assert answer.status_code == 412 and answer.headers["Tus-Version"] == "1.0.0"
    assert running_hub.partial_files() == []


def test_a_patch_at_the_wrong_offset_is_409_and_changes_nothing(client):
    data = os.urandom(3000)
    location = create_upload(client, data)
    patch(client, location, data[:1000], 0)
    answer = patch(client, location, data[500:1500], 500)
    assert answer.status_code == 409 and answer.headers["Upload-Offset"] == "1000"
    assert client.head(location, headers=tus_headers()).headers["Upload-Offset"] == "1000"


@pytest.mark.parametrize("metadata", [
    "", "filename cC56aXA=", "filename !!!,sha256 YQ==,package_id cA==",
    metadata_header("not-a-sha"), "filename cC56aXA= extra,sha256 YQ==",
])
def test_bad_metadata_is_400_and_nothing_is_created(running_hub, client, metadata):
    answer = client.post("/api/v1/uploads/", headers=tus_headers(**{
        "Upload-Length": "10", "Upload-Metadata": metadata}))
    assert answer.status_code == 400 and answer.json()["error"] == "tus.metadata"
    assert running_hub.partial_files() == []


@pytest.mark.parametrize("headers, status", [
    ({"Upload-Length": "-1"}, 400), ({"Upload-Length": "ten"}, 400), ({}, 400),
    ({"Upload-Defer-Length": "1"}, 400),
])
def test_bad_upload_length_is_400(client, headers, status):
    answer = client.post("/api/v1/uploads/", headers=tus_headers(
        **{"Upload-Metadata": metadata_header("a" * 64), **headers}))
    assert answer.status_code == status


def test_a_patch_with_a_wrong_content_type_or_unknown_checksum_is_refused(client):
    data = os.urandom(100)
    location = create_upload(client, data)
    wrong_type = client.patch(location, content=data, headers=tus_headers(**{
        "Upload-Offset": "0", "Content-Type": "application/json"}))
    assert wrong_type.status_code == 415
    unknown = client.patch(location, content=data, headers=tus_headers(**{
        "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream",
        "Upload-Checksum": "md5 AAAA"}))
    assert unknown.status_code == 400
    past_end = patch(client, location, data + b"extra", 0)
    assert past_end.status_code == 400
    assert client.head(location, headers=tus_headers()).headers["Upload-Offset"] == "0"


def test_another_device_cannot_see_or_touch_an_upload(running_hub, client):
    data = os.urandom(100)
    location = create_upload(client, data)
    other = running_hub.enroll("xa-khac")
    with running_hub.client(other["token"]) as stranger:
        assert stranger.head(location, headers=tus_headers()).status_code == 404
        assert patch(stranger, location, data, 0).status_code == 404
        assert stranger.delete(location, headers=tus_headers()).status_code == 404
    assert client.head(location, headers=tus_headers()).status_code == 200


def test_whole_file_hash_not_matching_the_metadata_is_refused_and_no_receipt(running_hub, client):
    data = os.urandom(2000)
    answer = client.post("/api/v1/uploads/", headers=tus_headers(**{
        "Upload-Length": str(len(data)), "Upload-Metadata": metadata_header("b" * 64)}))
    location = answer.headers["Location"]
    final = patch(client, location, data, 0)
    assert final.status_code == 460 and final.json()["error"] == "upload.sha256_mismatch"
    assert client.get(f"/api/v1/packages/{'b' * 64}").status_code == 404
    assert running_hub.partial_files() == [] and running_hub.stored_files() == []
