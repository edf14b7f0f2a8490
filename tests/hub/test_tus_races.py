"""Requests that meet on one upload: a DELETE or a second final PATCH while another request
writes to it or takes it in gets 423 (Locked), never a 4xx of the wrong kind or a 5xx, and the
package is taken in once."""

from __future__ import annotations

import hashlib
import os
import threading

import pytest

from tests.agent.hubserver import AnyPackage, FullOnce
from tests.hub.conftest import create_upload, patch, tus_headers


class GatedValidator:
    """Accepts, but first says it was entered and waits until released (at most 10 s)."""

    def __init__(self) -> None:
        self.entered, self.release, self.calls = threading.Event(), threading.Event(), 0

    def __call__(self, path):
        self.calls += 1
        self.entered.set()
        self.release.wait(10)
        return AnyPackage()  # the race, not the package, is under test


@pytest.fixture
def client(running_hub, device):
    with running_hub.client(device["token"]) as opened:
        yield opened


def _empty_patch(client, location: str, offset: int):
    return client.patch(location, content=b"", headers=tus_headers(**{
        "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}))


def _in_thread(call) -> tuple[threading.Thread, dict]:
    answer: dict = {}
    thread = threading.Thread(target=lambda: answer.setdefault("response", call()))
    thread.start()
    return thread, answer


def test_delete_while_another_request_holds_the_upload_is_423(running_hub, client):
    from hub import uploads

    data = os.urandom(3000)
    location = create_upload(client, data)
    assert patch(client, location, data[:1000], 0).status_code == 204
    upload_id = location.rsplit("/", 1)[1]
    with uploads.locked(uploads.partial_path(running_hub.hub, upload_id)):  # a PATCH writing
        answer = client.delete(location, headers=tus_headers())
    assert answer.status_code == 423 and answer.json()["error"] == "tus.busy"
    assert client.head(location, headers=tus_headers()).headers["Upload-Offset"] == "1000"
    assert client.delete(location, headers=tus_headers()).status_code == 204


def test_delete_while_the_final_patch_is_taken_in_is_423_and_the_package_arrives(running_hub,
                                                                                client):
    gate = GatedValidator()
    running_hub.hub.validate = gate
    data = os.urandom(4000)
    location = create_upload(client, data)
    assert patch(client, location, data[:1000], 0).status_code == 204
    thread, final = _in_thread(lambda: patch(client, location, data[1000:], 1000))
    try:
        assert gate.entered.wait(10)
        deleted = client.delete(location, headers=tus_headers())
    finally:
        gate.release.set()
        thread.join(30)
    assert deleted.status_code == 423
    assert final["response"].status_code == 204
    sha256 = hashlib.sha256(data).hexdigest()
    assert client.get(f"/api/v1/packages/{sha256}").status_code == 200
    assert [p.read_bytes() for p in running_hub.stored_files()] == [data]


def test_two_empty_final_patches_at_once_get_204_and_423_never_a_5xx(running_hub, client):
    running_hub.hub.store = FullOnce(running_hub.hub.store)
    running_hub.hub.validate = lambda path: AnyPackage()
    data = os.urandom(4000)
    location = create_upload(client, data)
    # Every byte lands but the store is full: 507, the bytes stay for an empty PATCH to retry.
    assert patch(client, location, data, 0).status_code == 507
    gate = GatedValidator()
    running_hub.hub.validate = gate
    thread, first = _in_thread(lambda: _empty_patch(client, location, len(data)))
    try:
        assert gate.entered.wait(10)
        second = _empty_patch(client, location, len(data))
    finally:
        gate.release.set()
        thread.join(30)
    assert first["response"].status_code == 204
    assert second.status_code == 423, second.text
    # Once taken in, a late retry of the final PATCH is answered as done.
    late = _empty_patch(client, location, len(data))
    assert late.status_code == 204 and late.headers["Upload-Offset"] == str(len(data))
    assert gate.calls == 1
    assert [p.read_bytes() for p in running_hub.stored_files()] == [data]
    assert running_hub.partial_files() == []
    sha256 = hashlib.sha256(data).hexdigest()
    assert client.get(f"/api/v1/packages/{sha256}").status_code == 200
