"""Crashes: a page process that dies or stalls costs only its page; a killed worker resumes."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from device.intake import import_files
from device.worker import run_once
from device.worker.pool import PageFailure, PagePool
from tests.conftest import REPO_ROOT, VALID_DOSSIER
from tests.device.cli.conftest import Sohoa

CODE = VALID_DOSSIER["fileCode"]


@pytest.fixture
def hooks(monkeypatch):
    """The test-only page functions, importable by the page processes."""
    monkeypatch.syspath_prepend(str(REPO_ROOT))
    from tests.device import worker_hooks

    return worker_hooks


def collect_all(pool: PagePool, count: int, limit_s: float = 60.0) -> dict:
    done: dict = {}
    deadline = time.monotonic() + limit_s
    while len(done) < count and time.monotonic() < deadline:
        done.update(pool.collect(1.0))
    return done


def test_a_failing_call_a_dead_process_and_a_stalled_one_each_cost_only_their_own_call(hooks):
    with PagePool(2, timeout_s=3.0) as pool:
        pool.submit("bad", int, "not a number")
        pool.submit("killed", hooks.kill_self, None)
        done = collect_all(pool, 2)
        assert isinstance(done["bad"], PageFailure) and done["bad"].reason.startswith("ValueError")
        assert "ProcessDied" in done["killed"].reason and "SIGKILL" in done["killed"].reason
        pool.submit("stalled", time.sleep, 30)
        pool.submit("quick", int, "5")
        done = collect_all(pool, 2)
        assert done["quick"] == 5
        assert "TimeoutError" in done["stalled"].reason
        pool.submit("after", int, "42")
        pool.submit("again", int, "7")
        assert collect_all(pool, 2) == {"after": 42, "again": 7}  # fresh processes took over


def _import_pages(box, folder: Path, count: int) -> list[int]:
    from device.capture.render import render_page

    files = []
    for i in range(count):
        path = folder / f"p{i}.png"
        Image.fromarray(render_page(f"Thông báo số {i}\nVề việc họp tổ dân phố", 200).image).save(path)
        files.append(path)
    return [page["id"] for page in import_files(box, CODE, files, actor="test").pages]


def test_a_page_whose_process_is_killed_fails_alone_and_the_worker_goes_on(
        box, dossier_code, tmp_path, hooks):
    page_ids = _import_pages(box, tmp_path, 4)
    victim = page_ids[1]
    box.db.conn.execute("UPDATE jobs SET max_attempts = 2")  # one retry, then failed for good
    result = run_once(box, processes=2, page_fn=functools.partial(hooks.die_on_page, page_id=victim))
    assert (result.processed, result.failed, result.retried) == (3, 1, 1)
    states = dict(box.db.conn.execute("SELECT id, state FROM pages").fetchall())
    assert states == {**{i: "processed" for i in page_ids}, victim: "failed"}
    error = box.db.conn.execute("SELECT error FROM pages WHERE id = ?", (victim,)).fetchone()[0]
    assert "ProcessDied" in error and "SIGKILL" in error


def _sohoa_bin() -> str:
    return str(Path(sys.executable).with_name("sohoa"))


def _counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())
    finally:
        conn.close()


def _wait_for(predicate, limit_s: float, what: str) -> None:
    deadline = time.monotonic() + limit_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.slow
def test_a_worker_killed_mid_page_resumes_and_each_page_is_recorded_once(tmp_path, config_file):
    # The default 600 s lease: the restarted worker takes its dead predecessor's pages back at
    # once (release_dead_workers_jobs), it does not wait out their leases.
    config_file.write_text(config_file.read_text() + "\n[worker]\npage_timeout_seconds = 10\n"
                           "poll_seconds = 0.2\n")
    sohoa = Sohoa(tmp_path / "data", config_file)
    sohoa("init")
    (tmp_path / "d.json").write_text(json.dumps(VALID_DOSSIER), encoding="utf-8")
    sohoa("dossier", "create", "--json", tmp_path / "d.json")
    from device.capture.simulated import SimulatedCamera

    camera = SimulatedCamera(seed=9, resolution=(1520, 2028))
    camera.start()
    files = []
    for i in range(6):
        path = tmp_path / f"shot{i}.jpg"
        Image.fromarray(camera.capture().image[:, :, ::-1]).save(path, quality=90)
        files.append(path)
    camera.close()
    assert sohoa("import", CODE, *files).exit_code == 0
    db = tmp_path / "data" / "sohoa.db"
    argv = [_sohoa_bin(), "--data", str(tmp_path / "data"), "--config", str(config_file),
            "worker", "--processes", "2"]
    first = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: _counts(db).get("running", 0) > 0, 60, "a page to start")
        time.sleep(0.3)
    finally:
        first.kill()  # SIGKILL while pages are running: their leases are left behind
        first.communicate(timeout=30)
    left = _counts(db).get("running", 0)
    assert left > 0 and _counts(db).get("done", 0) < 6
    # The second run is the service as systemd runs it: it says READY, pings the watchdog.
    manager = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    manager.bind(str(tmp_path / "notify.sock"))
    manager.settimeout(0.2)
    notes: list[str] = []
    listening = threading.Event()
    listening.set()

    def listen() -> None:  # as systemd does: a full datagram queue would block the sender
        while listening.is_set():
            with contextlib.suppress(TimeoutError):
                notes.extend(manager.recv(4096).decode().splitlines())

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "600000"}
    second = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        _wait_for(lambda: _counts(db).get("done", 0) == 6, 120, "every page to be processed")
    finally:
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err.decode()
    listening.clear()
    listener.join(5)
    manager.close()
    assert notes[0] == "READY=1" and "WATCHDOG=1" in notes and "STOPPING=1" in notes
    assert out.decode().startswith("processed ")
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM pages WHERE state = 'processed'").fetchone() == (6,)
    once = conn.execute("SELECT count(*), count(DISTINCT object_id) FROM events"
                        " WHERE action = 'page.process'").fetchone()
    assert once == (6, 6)  # each page's row was written once
    assert conn.execute("SELECT count(*) FROM page_text").fetchone() == (6,)
    assert conn.execute("SELECT count(*) FROM jobs WHERE attempts = 2").fetchone()[0] == left
    conn.close()
