"""SIGKILL of `sohoa sync` mid-upload, again and again: it resumes and re-sends at most a chunk."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.agent.faultproxy import FaultProxy
from tests.conftest import BOX_CONFIG

hubserver = pytest.importorskip("tests.agent.hubserver")

CHUNK = 64 << 10
ROUNDS = 20


def committed(database: Path, sha256: str) -> int:
    conn = sqlite3.connect(database, timeout=10)
    try:
        row = conn.execute("SELECT upload_offset FROM uploads WHERE sha256 = ?", (sha256,)).fetchone()
    finally:
        conn.close()
    return row[0] if row else 0


@pytest.mark.slow
def test_sigkill_mid_upload_twenty_times_then_it_completes(box, tmp_path, make_package):
    config = tmp_path / "agent.toml"
    config.write_text(BOX_CONFIG + f"\n[agent]\nchunk_bytes = {CHUNK}\nbackoff_min_seconds = 0.05\n"
                      "backoff_max_seconds = 0.2\nrequest_timeout_seconds = 5\n", encoding="utf-8")
    upload = make_package(4 << 20)
    rng = random.Random(5)
    with hubserver.HubServer(tmp_path / "province") as hub:
        code = hub.enrollment_code()
        with FaultProxy(("127.0.0.1", hub.port)) as proxy:
            proxy.faults.rate = 400_000  # slow enough to be caught mid-upload
            command = [sys.executable, "-m", "device.cli", "--data", str(box.config.paths.data_dir),
                       "--config", str(config)]
            subprocess.run([*command, "enroll", proxy.url, code], check=True, capture_output=True)
            kills = 0
            for _ in range(ROUNDS):
                before = committed(box.config.paths.database, upload["sha256"])
                child = subprocess.Popen([*command, "sync", "--once"], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
                deadline = time.monotonic() + 60
                while committed(box.config.paths.database, upload["sha256"]) <= before \
                        and child.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.02)
                time.sleep(rng.uniform(0, 0.15))  # somewhere inside the next chunk
                if child.poll() is None:
                    os.kill(child.pid, signal.SIGKILL)
                    kills += 1
                child.wait()
            final = subprocess.run([*command, "sync", "--once"], capture_output=True, text=True)
            assert final.returncode == 0, final.stdout + final.stderr
            assert kills >= ROUNDS - 2  # a round may finish the upload before it is killed
            resent = proxy.stats.body_bytes_up - upload["size"]
            assert 0 <= resent <= kills * CHUNK
        stored = hub.stored()
    assert list(stored) == [upload["sha256"]]
    assert stored[upload["sha256"]] == Path(upload["local_path"]).read_bytes()
