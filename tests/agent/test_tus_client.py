"""The tus client against an in-memory tus server (httpx.MockTransport): resume, checksums, faults."""

from __future__ import annotations

import math
import os

import httpx
import pytest

from agent.backoff import Backoff
from agent.errors import SyncUnavailable, UploadGone
from agent.tus_client import TusClient
from device.errors import InputError
from tests.agent.memtus import MemoryTus

CHUNK = 64 << 10


@pytest.fixture
def payload(tmp_path):
    path = tmp_path / "package.zip"
    path.write_bytes(os.urandom(5 * CHUNK + 1234))
    return path


def client_for(server: MemoryTus, sleeps: list | None = None, **kwargs) -> TusClient:
    http = httpx.Client(transport=server.transport(), base_url="http://hub.test", timeout=5)
    return TusClient(http, "http://hub.test/files/", chunk_bytes=CHUNK, backoff=Backoff(1.0, 30.0),
                     sleep=(sleeps.append if sleeps is not None else lambda s: None), **kwargs)


def send(client: TusClient, payload) -> str:
    size = payload.stat().st_size
    url = client.create(size, {"filename": payload.name, "sha256": "ab" * 32, "package_id": "P1"})
    client.upload(url, payload, size, offset=0)
    return url


def test_upload_arrives_whole_in_chunks_with_sha256_checksums_and_metadata(payload):
    server = MemoryTus()
    client = client_for(server)
    url = send(client, payload)
    key = url.rsplit("/", 1)[-1]
    assert bytes(server.uploads[key]) == payload.read_bytes()
    assert server.metadata[key] == {"filename": "package.zip", "sha256": "ab" * 32, "package_id": "P1"}
    patches = [r for r in server.requests if r.method == "PATCH"]
    assert len(patches) == math.ceil(payload.stat().st_size / CHUNK)
    assert all(r.headers["Upload-Checksum"].startswith("sha256 ") for r in patches)
    assert all(r.headers["Tus-Resumable"] == "1.0.0" for r in server.requests)


def test_resume_starts_from_the_servers_offset_not_a_local_one(payload):
    server = MemoryTus()
    client = client_for(server)
    size = payload.stat().st_size
    url = client.create(size, {"filename": "p", "sha256": "0" * 64, "package_id": "P"})
    key = url.rsplit("/", 1)[-1]
    server.uploads[key] += payload.read_bytes()[:2 * CHUNK + 77]  # what a cut left behind
    client.upload(url, payload, size)  # no offset given: the client must ask (HEAD)
    assert bytes(server.uploads[key]) == payload.read_bytes()
    assert client.stats.body_bytes == size - (2 * CHUNK + 77)
    assert server.requests[-len([r for r in server.requests if r.method == "PATCH"]) - 1].method == "HEAD"


def test_a_cut_mid_chunk_resends_at_most_that_chunk(payload):
    server = MemoryTus()
    cut = {"done": False}

    def cut_third_patch(request, srv, body):
        if request.method == "PATCH" and len([r for r in srv.requests if r.method == "PATCH"]) == 3 \
                and not cut["done"]:
            cut["done"] = True
            key = request.url.path.rsplit("/", 1)[-1]
            if not request.headers.get("Upload-Checksum"):
                srv.uploads[key] += body[: len(body) // 2]
            raise httpx.RemoteProtocolError("peer closed connection", request=request)
        return None

    server.faults.append(cut_third_patch)
    sleeps: list[float] = []
    client = client_for(server, sleeps)
    url = send(client, payload)
    size = payload.stat().st_size
    assert bytes(server.uploads[url.rsplit("/", 1)[-1]]) == payload.read_bytes()
    assert size < client.stats.body_bytes <= size + CHUNK
    assert client.stats.resumes == 1 and len(sleeps) == 1


def test_a_partial_chunk_kept_by_a_server_without_checksums_is_not_sent_again(payload):
    server = MemoryTus(checksum=False)
    state = {"cut": False}

    def keep_half_then_cut(request, srv, body):
        if request.method == "PATCH" and not state["cut"] and int(request.headers["Upload-Offset"]) == CHUNK:
            state["cut"] = True
            srv.uploads[request.url.path.rsplit("/", 1)[-1]] += body[: CHUNK // 2]
            raise httpx.ReadError("connection reset", request=request)
        return None

    server.faults.append(keep_half_then_cut)
    client = client_for(server)
    url = send(client, payload)
    assert bytes(server.uploads[url.rsplit("/", 1)[-1]]) == payload.read_bytes()
    offsets = [int(r.headers["Upload-Offset"]) for r in server.requests if r.method == "PATCH"]
    assert CHUNK + CHUNK // 2 in offsets  # it went on from the byte the server had
    assert not any("Upload-Checksum" in r.headers for r in server.requests)


def test_a_chunk_refused_with_460_is_sent_again(payload):
    server = MemoryTus()
    state = {"bad": True}

    def corrupt_once(request, srv, body):
        if request.method == "PATCH" and state["bad"] and int(request.headers["Upload-Offset"]) == CHUNK:
            state["bad"] = False
            return httpx.Response(460, headers={"Tus-Resumable": "1.0.0"})
        return None

    server.faults.append(corrupt_once)
    client = client_for(server)
    url = send(client, payload)
    assert bytes(server.uploads[url.rsplit("/", 1)[-1]]) == payload.read_bytes()
    assert client.stats.checksum_retries == 1


def test_a_burst_of_5xx_is_backed_off_with_growing_waits_then_the_upload_completes(payload):
    server = MemoryTus()
    burst = {"left": 3}

    def unavailable(request, srv, body):
        if request.method == "PATCH" and burst["left"]:
            burst["left"] -= 1
            return httpx.Response(503)
        return None

    server.faults.append(unavailable)
    sleeps: list[float] = []
    client = client_for(server, sleeps)
    url = send(client, payload)
    assert bytes(server.uploads[url.rsplit("/", 1)[-1]]) == payload.read_bytes()
    assert len(sleeps) == 3 and sleeps == sorted(sleeps) and sleeps[-1] >= 2.0


def test_endless_5xx_gives_up_after_the_retry_limit(payload):
    server = MemoryTus()
    server.faults.append(lambda r, s, b: httpx.Response(502) if r.method == "PATCH" else None)
    client = client_for(server, [], max_retries=3)
    with pytest.raises(SyncUnavailable):
        send(client, payload)


def test_a_forgotten_upload_is_reported_gone(payload):
    client = client_for(MemoryTus())
    with pytest.raises(UploadGone):
        client.offset("http://hub.test/files/nope")


def test_a_package_over_the_servers_limit_is_refused_before_sending(payload):
    server = MemoryTus(max_size=1000)
    client = client_for(server)
    with pytest.raises(InputError):
        client.create(payload.stat().st_size, {"filename": "p", "sha256": "0" * 64, "package_id": "P"})
    assert [r.method for r in server.requests] == ["OPTIONS"]


def test_termination_deletes_the_upload(payload):
    server = MemoryTus()
    client = client_for(server)
    url = client.create(10, {"filename": "p", "sha256": "0" * 64, "package_id": "P"})
    client.terminate(url)
    assert server.uploads == {}


def test_an_answer_without_a_tus_offset_is_a_retryable_failure_not_a_crash():
    """A captive portal or a broken proxy answers 200 with no Upload-Offset."""
    from agent.errors import SyncUnavailable
    from agent.tus_client import TusClient

    portal = httpx.MockTransport(lambda request: httpx.Response(200, headers={"Content-Length": "0"}))
    with httpx.Client(transport=portal) as client:
        tus = TusClient(client, "http://hub.invalid/api/v1/uploads/")
        with pytest.raises(SyncUnavailable, match="without a valid Upload-Offset"):
            tus.offset("http://hub.invalid/api/v1/uploads/abc")
