"""Durability: a page reported as stored survives SIGKILL, and the write order is the safe one.

Killing a process leaves the OS page cache intact, so the crash test proves crash consistency
only. Power-loss safety rests on the order of the system calls (write, fsync, rename, fsync of
the folder, database commit with its WAL fsynced, then the acknowledgement), which the strace
test checks on the real command.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from device.blobs import BlobStore
from tests.conftest import REPO_ROOT, VALID_DOSSIER

CODE = VALID_DOSSIER["fileCode"]
STORED = re.compile(r"^stored page (\d+) of \S+ from \S+ sha256 ([0-9a-f]{64})$")


def _sohoa(data: Path, config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "device.cli", "--data", str(data), "--config",
                           str(config), *args], capture_output=True, text=True, cwd=REPO_ROOT,
                          timeout=120)


@pytest.fixture
def prepared(tmp_path, config_file):
    data = tmp_path / "data"
    assert _sohoa(data, config_file, "init").returncode == 0
    (tmp_path / "d.json").write_text(json.dumps(VALID_DOSSIER), encoding="utf-8")
    assert _sohoa(data, config_file, "dossier", "create", "--json",
                  str(tmp_path / "d.json")).returncode == 0
    return data, config_file


def _check_everything_reported_is_there(data: Path, reported: dict[int, str]) -> None:
    conn = sqlite3.connect(data / "sohoa.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = dict(conn.execute("SELECT p.id, c.raw_sha256 FROM pages p JOIN captures c"
                               " ON c.id = p.capture_id"))
    queued = {row[0] for row in conn.execute("SELECT subject FROM jobs")}
    conn.close()
    blobs = BlobStore(data / "blobs")
    for page_id, sha in reported.items():
        assert stored.get(page_id) == sha, f"page {page_id} was reported stored but is not"
        assert blobs.verify(sha), f"blob of page {page_id} does not verify"
        assert f"page:{page_id}" in queued


@pytest.mark.slow
def test_every_reported_page_survives_sigkill(prepared, tmp_path, config_file):
    data, config = prepared
    work = tmp_path / "work"
    work.mkdir()
    rng = random.Random(20261125)
    reported: dict[int, str] = {}
    for _ in range(50):
        child = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("durability_child.py")), str(data),
             str(config), CODE, str(work)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=REPO_ROOT, text=True)
        time.sleep(rng.uniform(0.4, 1.6))
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate(timeout=60)
        assert "Traceback" not in err, err
        for line in out.splitlines():
            match = STORED.match(line)
            if match:  # a line cut by the kill is not an acknowledgement
                reported[int(match[1])] = match[2]
        _check_everything_reported_is_there(data, reported)
        fsck = _sohoa(data, config, "fsck")
        assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert len(reported) >= 50  # the kills landed while imports were going on


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_the_import_writes_fsyncs_renames_commits_then_acknowledges(prepared, tmp_path, page_png):
    data, config = prepared
    trace = tmp_path / "trace.txt"
    subprocess.run(["strace", "-f", "-qq", "-s", "200", "-o", str(trace), "-e",
                    "trace=openat,write,pwrite64,fsync,fdatasync,rename,renameat,renameat2,close",
                    sys.executable, "-m", "device.cli", "--data", str(data), "--config",
                    str(config), "import", CODE, str(page_png)],
                   check=True, cwd=REPO_ROOT, capture_output=True, timeout=120)
    events = _blob_and_commit_events(trace.read_text().splitlines())
    order = ["blob write", "blob fsync", "blob rename", "folder fsync", "wal write",
             "wal fsync", "acknowledge"]
    positions = [events.index(name) for name in order]
    assert positions == sorted(positions), events


def _blob_and_commit_events(lines: list[str]) -> list[str]:
    """Name the calls that matter, in order, following file descriptors by their paths."""
    fds: dict[str, str] = {}
    events = []
    for line in lines:
        opened = re.search(r'openat\(AT_FDCWD, "([^"]+)".*\) = (\d+)$', line)
        if opened:
            fds[opened[2]] = opened[1]
            continue
        call = re.match(r"^\d+\s+(\w+)\((\d+)", line)
        if not call:
            if re.match(r"^\d+\s+rename\w*\(.*\.tmp-.*blobs/", line):
                events.append("blob rename")
            continue
        name, path = call[1], fds.get(call[2], "")
        if name == "write" and call[2] == "1" and "stored page" in line:
            events.append("acknowledge")
        elif "/blobs/" in path and ".tmp-" in path:
            events.append({"write": "blob write", "fsync": "blob fsync"}.get(name, ""))
        elif name == "fsync" and "/blobs/" in path + "/" and ".tmp-" not in path:
            events.append("folder fsync")
        elif path.endswith("sohoa.db-wal"):
            events.append({"write": "wal write", "pwrite64": "wal write", "fsync": "wal fsync",
                           "fdatasync": "wal fsync"}.get(name, ""))
    return [event for event in events if event]

