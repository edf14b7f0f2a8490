"""A USB export queued from the web UI is run by the real worker: the waiting packages are
copied to the drive with the manifest last, each copy and the end are in the audit trail in the
name of whoever asked, a drive pulled out meanwhile fails the job with a Vietnamese reason and
writes nothing, and a result whose claim moved on is dropped."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from device.db import outbox, transaction
from device.db.events import events_for
from device.db.jobs import USB_EXPORT, claim_next_job, job_by_subject
from device.errors import InputError
from device.usb_export import EXPORT_FOLDER, export_status, export_subject, queue_export
from device.worker import run_once
from device.worker.usb_job import usb_export_runner
from tests.agent.conftest import FakePackage, set_agent


@pytest.fixture
def media_root(box, tmp_path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    set_agent(box, usb_mount_roots=[root])
    return root


def mount_table(tmp_path: Path, *points: Path) -> Path:
    """A mount table in /proc/self/mounts' format listing `points` as vfat drives (no drive is
    plugged into a test machine)."""
    table = tmp_path / "mounts"
    table.write_text("".join(f"/dev/sdb1 {point} vfat rw,relatime 0 0\n" for point in points),
                     encoding="utf-8")
    return table


def waiting(box, tmp_path: Path, count: int, size: int = 4000) -> list[str]:
    """`count` package files in the outbox, without a receipt; their SHA-256s."""
    folder = tmp_path / "pkgs"
    folder.mkdir(exist_ok=True)
    shas = []
    for _ in range(count):
        data = os.urandom(size)
        sha = hashlib.sha256(data).hexdigest()
        (folder / f"{sha[:8]}.zip").write_bytes(data)
        outbox.queue_package(box, FakePackage(folder / f"{sha[:8]}.zip", sha, size, f"pkg-{sha[:8]}"))
        shas.append(sha)
    return shas


def usb_events(box, drive: Path, action: str) -> list[dict]:
    return [event for event in events_for(box.db, "usb", str(drive / EXPORT_FOLDER))
            if event["action"] == action]


def test_the_worker_copies_a_queued_export_and_the_status_says_where_the_manifest_is(
        box, tmp_path, media_root):
    drive = media_root / "KINGSTON"
    drive.mkdir()
    shas = waiting(box, tmp_path, 2)
    queue_export(box, drive, actor="web:minh")
    assert export_status(box, drive)["state"] == "queued"
    assert not (drive / EXPORT_FOLDER).exists()  # queued: nothing copied in the request

    report = run_once(box, processes=1, mount_table=mount_table(tmp_path, drive))
    assert (report.exported, report.export_failed) == (1, 0)
    manifest = json.loads((drive / EXPORT_FOLDER / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(p["sha256"] for p in manifest["packages"]) == sorted(shas)
    status = export_status(box, drive)
    assert (status["state"], status["done"], status["total"], status["packages"]) == ("done", 2, 2, 2)
    assert status["manifest"] == str(drive / EXPORT_FOLDER / "manifest.json")
    assert status["by"] == "web:minh"
    copied = usb_events(box, drive, "usb.export_copied")
    assert [e["details"]["done"] for e in copied] == [1, 2]
    assert {e["actor"] for e in copied} == {"web:minh"}
    assert [e["actor"] for e in usb_events(box, drive, "usb.export")] == ["web:minh"]


def test_a_second_export_to_the_same_drive_waits_for_the_first(box, tmp_path, media_root):
    drive = media_root / "USB"
    drive.mkdir()
    queue_export(box, drive, actor="web:minh")
    with pytest.raises(InputError) as refused:
        queue_export(box, drive, actor="web:lan")
    assert "Đang chép ra ổ USB này" in refused.value.message_vi
    assert len(usb_events(box, drive, "usb.export_queued")) == 1


def test_a_drive_pulled_out_before_the_worker_runs_fails_in_vietnamese_and_gets_nothing(
        box, tmp_path, media_root):
    drive = media_root / "USB"
    drive.mkdir()
    waiting(box, tmp_path, 1)
    queue_export(box, drive, actor="web:minh")
    # Unplugged: the mount point stays as an empty folder on the box's own disk.
    report = run_once(box, processes=1, mount_table=mount_table(tmp_path))
    assert (report.exported, report.export_failed) == (0, 1)
    assert list(drive.iterdir()) == []
    status = export_status(box, drive)
    assert status["state"] == "failed" and "Không thấy ổ USB nào" in status["error"]
    [failed] = usb_events(box, drive, "usb.export_failed")
    assert failed["details"]["reason"] == status["error"]
    assert usb_events(box, drive, "usb.export") == []
    queue_export(box, drive, actor="web:minh")  # a failed export may be asked for again
    assert export_status(box, drive)["state"] == "queued"


def test_an_export_shows_running_while_it_copies(box, tmp_path, media_root):
    drive = media_root / "USB"
    drive.mkdir()
    waiting(box, tmp_path, 1)
    queue_export(box, drive, actor="web:minh")
    runner = usb_export_runner(box, "test:1", mount_table(tmp_path, drive))
    # Holding the write lock, the copy can run but not record its progress until we let it.
    with transaction(box.db):
        runner.poll()
        deadline = time.monotonic() + 60
        while not list((drive / EXPORT_FOLDER).glob("*.zip")):
            assert time.monotonic() < deadline, "nothing was copied"
            time.sleep(0.05)
        status = export_status(box, drive)
        assert (status["state"], status["done"], status["manifest"]) == ("running", 0, "")
    runner.wait(60)
    runner.poll(claim=False)
    assert (runner.done, runner.failed) == (1, 0)
    assert export_status(box, drive)["state"] == "done"


def test_a_result_whose_lease_ran_out_is_dropped(box, tmp_path, media_root):
    drive = media_root / "USB"
    drive.mkdir()
    waiting(box, tmp_path, 1)
    queue_export(box, drive, actor="web:minh")
    runner = usb_export_runner(box, "test:1", mount_table(tmp_path, drive))
    runner.poll()
    # Seen from the future its lease ran out: with its one attempt used, the job fails for good
    # (a worker that died mid-copy) instead of being handed to another worker.
    assert claim_next_job(box.db, "test:2", 60.0, kinds=(USB_EXPORT,),
                          clock=time.time() + 10_000) is None
    runner.wait(60)
    runner.poll(claim=False)
    assert (runner.done, runner.failed) == (0, 0)
    row = job_by_subject(box.db, USB_EXPORT, export_subject(drive))
    assert (row["state"], row["last_error"]) == ("failed", "lease expired")  # not turned into done
