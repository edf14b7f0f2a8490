"""Interoperability: the agent's tus client uploads to the official tus server from npm."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from agent.tus_client import TusClient

NODE_DIR = Path(__file__).with_name("tus_node")
MIN_NODE = (20, 19)  # @tus/server 2.4 and @tus/file-store 2.1 (package-lock.json engines)


@pytest.fixture
def tus_node(tmp_path):
    if not shutil.which("node"):
        pytest.skip("node is not installed (apt nodejs)")
    version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    if tuple(int(part) for part in version.lstrip("v").split(".")[:2]) < MIN_NODE:
        pytest.skip(f"@tus/server 2 needs node >= 20.19; this machine has {version}")
    if not (NODE_DIR / "node_modules" / "@tus" / "server").is_dir():
        pytest.skip("tests/agent/tus_node/node_modules is missing: run `npm ci` in that folder")
    store = tmp_path / "tus-store"
    store.mkdir()
    process = subprocess.Popen(["node", "server.mjs", str(store)], cwd=NODE_DIR,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        if not line.startswith("listening "):
            pytest.fail(f"tus server did not start: {line}{process.stderr.read()}")
        yield f"http://127.0.0.1:{int(line.split()[1])}/files", store
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()
        process.stderr.close()


def test_an_upload_to_the_official_tus_server_arrives_byte_identical(tus_node, tmp_path):
    endpoint, store = tus_node
    payload = tmp_path / "package.zip"
    payload.write_bytes(os.urandom(700_000))
    sha = hashlib.sha256(payload.read_bytes()).hexdigest()
    with httpx.Client(timeout=10) as http:
        client = TusClient(http, endpoint, chunk_bytes=128 << 10)
        url = client.create(payload.stat().st_size,
                            {"filename": payload.name, "sha256": sha, "package_id": "P1"})
        client.upload(url, payload, payload.stat().st_size, offset=0)
        assert client.offset(url) == payload.stat().st_size
        # A second client (a reboot) resumes from what the server says, sending nothing more.
        again = TusClient(http, endpoint, chunk_bytes=128 << 10)
        again.upload(url, payload, payload.stat().st_size)
        assert again.stats.body_bytes == 0
    upload_id = url.rsplit("/", 1)[-1]
    assert (store / upload_id).read_bytes() == payload.read_bytes()
    capabilities = client.capabilities()
    assert "creation" in capabilities.extensions
