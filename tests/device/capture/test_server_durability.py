"""Durability of the capture service: every shot it acknowledged survives SIGKILL mid-burst.

A real `sohoa capture serve` (simulated camera at a reduced resolution) is started, shot at by
two clients, and killed at a random moment; 30 rounds. An acknowledgement is a complete 200
answer. Killing a process keeps the OS page cache, so this proves crash consistency; the
order of writes behind power-loss safety is the one tests/device/test_durability.py checks.
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from device.blobs import BlobStore
from device.capture.client import CaptureClient, ServiceError, ServiceUnavailableError
from tests.conftest import REPO_ROOT, VALID_DOSSIER
from tests.device.cli.conftest import Sohoa

ROUNDS = 30


def _shoot_until_it_dies(client: CaptureClient, acknowledged: dict[int, dict], lock: threading.Lock) -> None:
    while True:
        try:
            answer = client.shoot(2)
        except (ServiceUnavailableError, ServiceError):
            return  # killed mid-request (or refused while stopping): not acknowledged
        with lock:
            for page in answer["pages"]:
                acknowledged[page["page"]] = page


def _check(data, acknowledged: dict[int, dict]) -> None:
    conn = sqlite3.connect(data / "sohoa.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0]: row[1:] for row in conn.execute(
            "SELECT p.id, c.raw_sha256, p.position FROM pages p JOIN captures c ON c.id = p.capture_id")}
        jobs = {row[0] for row in conn.execute("SELECT subject FROM jobs WHERE kind = 'process_page'")}
        positions = sorted(position for _, position in stored.values())
    finally:
        conn.close()
    blobs = BlobStore(data / "blobs")
    for page_id, page in acknowledged.items():
        assert page_id in stored, f"page {page_id} was acknowledged but is not stored"
        assert stored[page_id] == (page["sha256"], page["position"])
        assert blobs.verify(page["sha256"]), f"the blob of page {page_id} does not verify"
        assert f"page:{page_id}" in jobs, f"page {page_id} has no processing job"
    assert positions == list(range(1, len(positions) + 1))  # one document, no gap, no repeat


@pytest.mark.slow
def test_every_acknowledged_shot_survives_sigkill(tmp_path, config_file):
    data = tmp_path / "data"
    sohoa = Sohoa(data, config_file)
    assert sohoa("init").exit_code == 0
    dossier = tmp_path / "dossier.json"
    dossier.write_text(json.dumps(VALID_DOSSIER), encoding="utf-8")
    assert sohoa("dossier", "create", "--json", str(dossier)).exit_code == 0
    rng = random.Random(20261126)
    acknowledged: dict[int, dict] = {}
    lock = threading.Lock()
    for round_number in range(ROUNDS):
        server = subprocess.Popen([sys.executable, "-m", "device.cli", "--data", str(data),
                                   "--config", str(config_file), "capture", "serve"],
                                  cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True)
        client = CaptureClient(data / "run" / "capture.sock", timeout=30)
        try:
            _wait_until_it_shoots(client, server, VALID_DOSSIER["fileCode"], round_number == 0)
            shooters = [threading.Thread(target=_shoot_until_it_dies, args=(client, acknowledged, lock))
                        for _ in range(2)]
            before = len(acknowledged)
            for shooter in shooters:
                shooter.start()
            # Kill while shots are going on: after this round's first acknowledgement (so a
            # slow, loaded machine still kills mid-burst), at a random moment after it.
            deadline = time.monotonic() + 120
            while len(acknowledged) == before and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.6))
            server.send_signal(signal.SIGKILL)
            _, err = server.communicate(timeout=60)
            for shooter in shooters:
                shooter.join(timeout=60)
        finally:
            client.close()
            if server.poll() is None:
                server.kill()
                server.communicate()
        assert "Traceback" not in err, err
        _check(data, acknowledged)
        fsck = sohoa("fsck")
        assert fsck.exit_code == 0, fsck.output
    assert len(acknowledged) >= 2 * ROUNDS  # each round acknowledged a 2-page shot before its kill


def _wait_until_it_shoots(client: CaptureClient, server: subprocess.Popen, code: str, first: bool) -> None:
    end = time.monotonic() + 60
    while not (client.is_serving() and client.status()["camera"]["available"]):
        assert server.poll() is None, server.communicate()[1]
        assert time.monotonic() < end, "the capture service did not start"
        time.sleep(0.05)
    if first:  # the target is kept in the data directory across the kills
        client.set_target(code, None)
        client.shoot(1)  # made document 1 and aimed at it before the first kill
