"""The sync page over a real box and a real hub on 127.0.0.1: the outbox, receipts (rejection
reasons shown escaped), enrollment and last contact, USB export, bandwidth and time windows."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import pytest

from agent.enrollment import enroll
from agent.sync import SyncContext, sync_pass
from device.agent_settings import effective_agent, overrides
from device.db import outbox
from device.db.events import events_for
from device.worker import run_once
from tests.agent.conftest import FakePackage
from web_ui.sync import MOUNT_TABLE_KEY

pytest.importorskip("waitress")
hubserver = pytest.importorskip("tests.agent.hubserver")

EVIL_REASON = "<script>alert('x')</script> thiếu tệp METS"
REJECT_MARK = b"REJECT-ME"


def validate(path: Path):
    """The hub's verdict for the test packages: those starting with REJECT_MARK are refused."""
    if path.read_bytes().startswith(REJECT_MARK):
        return hubserver.AnyPackage(reasons=[EVIL_REASON, "kích thước sai"])
    return hubserver.AnyPackage()


@pytest.fixture
def hub(tmp_path):
    with hubserver.HubServer(tmp_path / "province", validate=validate) as server:
        yield server


def queue(box, folder: Path, data: bytes, file_code: str | None = None) -> dict:
    """A package file of `data` put in the outbox as the package builder would."""
    folder.mkdir(exist_ok=True)
    sha = hashlib.sha256(data).hexdigest()
    path = folder / f"{sha[:8]}.zip"
    path.write_bytes(data)
    outbox.queue_package(box, FakePackage(path, sha, len(data), f"pkg-{sha[:8]}", file_code, True))
    return outbox.upload_by_sha256(box.db, sha)


def test_the_page_shows_what_the_real_hub_accepted_and_rejected_with_reasons_escaped(
        box, hub, login, tmp_path, dossier_code):
    enroll(box, hub.url, hub.enrollment_code())
    good = queue(box, tmp_path / "pkgs", os.urandom(30_000), dossier_code)
    bad = queue(box, tmp_path / "pkgs", REJECT_MARK + os.urandom(10_000))
    result = sync_pass(box, SyncContext(sleep=lambda s: None))
    assert result.accepted == [good["sha256"]] and result.rejected == [bad["sha256"]]

    page = login("operator").get("/sync").get_data(as_text=True)
    assert f'data-sha256="{good["sha256"]}" data-state="accepted"' in page
    assert f'data-sha256="{bad["sha256"]}" data-state="rejected"' in page
    assert f'data-dossier="{dossier_code}"' in page
    assert 'data-verdict="accepted"' in page and 'data-verdict="rejected"' in page
    assert "đã được tiếp nhận" in page and "bị từ chối" in page  # states in Vietnamese
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; thiếu tệp METS" in page
    assert "<script>alert" not in page and "kích thước sai" in page
    assert 'id="sync-hub" class="card" data-enrolled="1"' in page
    assert 'id="sync-last-contact" data-at="20' in page  # the agent recorded the contact


def test_an_unreachable_hub_is_shown_as_the_last_contact_error(box, hub, login):
    enroll(box, hub.url, hub.enrollment_code())
    outbox.set_sync_values(box.db, {"hub_url": "http://127.0.0.1:9"})  # nothing listens there
    assert sync_pass(box, SyncContext(sleep=lambda s: None)).error
    page = login("operator").get("/sync").get_data(as_text=True)
    assert 'id="sync-last-contact" data-at=""' in page
    error_part = page.split('id="sync-last-error"')[1].split("</dd>")[0]
    assert "127.0.0.1:9" in error_part


def test_a_box_without_enrollment_says_so_in_vietnamese(box, login):
    page = login("operator").get("/sync").get_data(as_text=True)
    assert 'data-enrolled="0"' in page and "Hộp chưa đăng ký với máy chủ tiếp nhận" in page
    assert "Chưa có gói nào trong hàng đợi." in page


def _mount_table(app, tmp_path: Path, *points: Path, fstype: str = "vfat") -> None:
    """A mount table in /proc/self/mounts' format naming `points` (no drive is plugged into a
    test machine), under a mount root set in the box's config."""
    lines = [f"/dev/sda1 {str(p).replace(' ', chr(92) + '040')} {fstype} rw,relatime 0 0"
             for p in points]
    table = tmp_path / "mounts"
    table.write_text("\n".join(["proc /proc proc rw 0 0", *lines]) + "\n", encoding="utf-8")
    app.config[MOUNT_TABLE_KEY] = str(table)


@pytest.fixture
def media_root(box, tmp_path):
    from tests.agent.conftest import set_agent

    root = tmp_path / "media"
    root.mkdir()
    set_agent(box, usb_mount_roots=[root])
    return root


def test_usb_export_is_queued_at_once_and_the_page_follows_the_worker_to_the_manifest(
        app, box, login, tmp_path, media_root):
    app.extensions["sohoa_config"] = box.config  # the mount roots set on the box
    drive = media_root / "KINGSTON 16G"
    drive.mkdir()
    _mount_table(app, tmp_path, drive)
    waiting = queue(box, tmp_path / "pkgs", os.urandom(5000))
    reviewer = login("reviewer")
    assert f'<option value="{drive}">' in reviewer.get("/sync").get_data(as_text=True)
    answer = reviewer.post("/sync/export", {"medium": str(drive)}, follow_redirects=True)
    page = answer.get_data(as_text=True)
    assert "Đã giao việc chép ra" in page  # answered at once, nothing copied in the request
    assert f'data-medium="{drive}" data-state="queued"' in page
    assert "Đang chờ chép ra" in page and "web:reviewer" in page
    assert not (drive / "sohoa-export").exists()
    again = reviewer.post("/sync/export", {"medium": str(drive)}, follow_redirects=True)
    assert "Đang chép ra ổ USB này" in again.get_data(as_text=True)  # one export per drive at once

    report = run_once(box, processes=1, mount_table=Path(app.config[MOUNT_TABLE_KEY]))
    assert report.exported == 1
    manifest = json.loads((drive / "sohoa-export" / "manifest.json").read_text())
    assert [p["sha256"] for p in manifest["packages"]] == [waiting["sha256"]]
    exported = [e for e in events_for(box.db, "usb") if e["action"] == "usb.export"]
    assert exported[0]["actor"] == "web:reviewer"  # in the name of who asked, not the worker
    page = reviewer.get("/sync").get_data(as_text=True)
    assert 'data-state="done"' in page and "Đã chép 1 gói sang" in page
    assert str(drive / "sohoa-export" / "manifest.json") in page


def test_a_failed_usb_export_shows_its_reason_in_vietnamese(app, box, login, tmp_path, media_root):
    app.extensions["sohoa_config"] = box.config
    drive = media_root / "USB"
    drive.mkdir()
    _mount_table(app, tmp_path, drive)
    queue(box, tmp_path / "pkgs", os.urandom(5000))
    admin = login("admin")
    admin.post("/sync/export", {"medium": str(drive)})
    (drive / "sohoa-export").mkdir()  # meanwhile the drive got a manifest link (another computer)
    (drive / "sohoa-export" / "manifest.json").symlink_to(tmp_path / "elsewhere.json")
    assert run_once(box, processes=1, mount_table=Path(app.config[MOUNT_TABLE_KEY])).export_failed == 1
    page = admin.get("/sync").get_data(as_text=True)
    assert 'data-state="failed"' in page
    assert "Chép ra " in page and "không thành công: Tệp manifest.json trên ổ USB là một liên kết" in page
    assert [p.name for p in (drive / "sohoa-export").iterdir()] == ["manifest.json"]


def test_usb_export_refuses_clearly_without_a_drive_and_writes_nothing(app, box, login, tmp_path,
                                                                       media_root):
    app.extensions["sohoa_config"] = box.config
    elsewhere = tmp_path / "not-a-drive"
    elsewhere.mkdir()
    _mount_table(app, tmp_path, tmp_path / "proc-only")  # not under the mount root
    queue(box, tmp_path / "pkgs", os.urandom(5000))
    admin = login("admin")
    assert 'id="usb-none"' in admin.get("/sync").get_data(as_text=True)
    answer = admin.post("/sync/export", {"medium": str(elsewhere)}, follow_redirects=True)
    assert "Không thấy ổ USB nào" in answer.get_data(as_text=True)
    assert list(elsewhere.iterdir()) == []
    assert events_for(box.db, "usb") == []


def test_usb_export_takes_only_a_listed_drive(app, box, login, tmp_path, media_root):
    app.extensions["sohoa_config"] = box.config
    drive, other = media_root / "USB", media_root / "ro-card"
    drive.mkdir(), other.mkdir()
    _mount_table(app, tmp_path, drive)
    answer = login("admin").post("/sync/export", {"medium": str(other)}, follow_redirects=True)
    assert "Ổ USB đã chọn không còn được gắn" in answer.get_data(as_text=True)
    assert list(other.iterdir()) == []


def test_an_operator_cannot_export_or_change_settings(box, login):
    operator = login("operator")
    page = operator.get("/sync").get_data(as_text=True)
    assert 'id="usb-export"' not in page and 'id="sync-settings-form"' not in page
    assert operator.post("/sync/export", {"medium": "/media/x"}).status_code == 403
    assert operator.post("/sync/settings", {"bandwidth_kb": "1"}).status_code == 403
    assert login("reviewer").post("/sync/settings", {"bandwidth_kb": "1"}).status_code == 403
    assert effective_agent(box).bandwidth_bytes_per_second == 0


def test_an_admin_sets_the_cap_and_windows_and_the_agent_obeys_them(box, hub, login, tmp_path):
    admin = login("admin")
    now = dt.datetime.now()
    closed = f"{(now + dt.timedelta(hours=2)):%H}:00-{(now + dt.timedelta(hours=3)):%H}:00"
    answer = admin.post("/sync/settings", {"bandwidth_kb": "125", "time_windows": closed},
                        follow_redirects=True)
    page = answer.get_data(as_text=True)
    assert "Đã lưu cài đặt gửi." in page and 'data-kb="125"' in page
    assert f'data-windows="{closed}"' in page and "đã đổi bởi web:admin" in page
    effective = effective_agent(box)
    assert effective.bandwidth_bytes_per_second == 125_000 and effective.time_windows == [closed]
    event = [e for e in events_for(box.db, "settings") if e["action"] == "settings.update"][0]
    assert event["actor"] == "web:admin"
    assert event["details"]["bandwidth_bytes_per_second"] == {"from": 0, "to": 125_000}

    enroll(box, hub.url, hub.enrollment_code())  # the agent reads the override: nothing goes
    upload = queue(box, tmp_path / "pkgs", os.urandom(2000))
    result = sync_pass(box, SyncContext(sleep=lambda s: None))
    assert result.outside_window and result.accepted == []
    assert outbox.upload_by_sha256(box.db, upload["sha256"])["state"] == "queued"

    admin.post("/sync/settings/reset")
    assert effective_agent(box).time_windows == []
    assert sync_pass(box, SyncContext(sleep=lambda s: None)).accepted == [upload["sha256"]]


@pytest.mark.parametrize("bandwidth, windows, message", [
    ("nhanh", "", "Hãy nhập số nguyên kB/s"),
    ("-5", "", "Hãy nhập số nguyên kB/s"),
    ("100", "25:00-26:00", "Mỗi khung giờ có dạng GG:PP-GG:PP"),
    ("100", "12:00-13:30\n8h-9h", "sai: 8h-9h"),
])
def test_bad_settings_are_refused_in_vietnamese_and_nothing_changes(box, login, bandwidth,
                                                                    windows, message):
    answer = login("admin").post("/sync/settings", {"bandwidth_kb": bandwidth,
                                                    "time_windows": windows},
                                 follow_redirects=True)
    assert message in answer.get_data(as_text=True)
    assert effective_agent(box).bandwidth_bytes_per_second == 0
    assert effective_agent(box).time_windows == []
    assert events_for(box.db, "settings") == []


@pytest.fixture
def odd_cap(box):
    """sohoa.toml caps the agent at 131072 B/s, which the form shows as 131 kB/s."""
    from tests.agent.conftest import set_agent

    set_agent(box, bandwidth_bytes_per_second=131_072)


def test_saving_only_the_windows_stores_no_bandwidth_override(box, odd_cap, login):
    admin = login("admin")
    page = admin.get("/sync").get_data(as_text=True)
    assert 'data-kb="131"' in page
    answer = admin.post("/sync/settings", {"bandwidth_kb": "131", "time_windows": "12:00-13:30"},
                        follow_redirects=True)
    assert "Đã lưu cài đặt gửi." in answer.get_data(as_text=True)
    assert effective_agent(box).bandwidth_bytes_per_second == 131_072  # sohoa.toml's, untouched
    assert set(overrides(box)) == {"time_windows"}
    [event] = [e for e in events_for(box.db, "settings") if e["action"] == "settings.update"]
    assert set(event["details"]) == {"time_windows"}


@pytest.mark.parametrize("link", ["folder", "manifest"])
def test_usb_export_refuses_a_link_leading_off_the_drive_and_writes_nothing(app, box, login, tmp_path,
                                                                           media_root, link):
    app.extensions["sohoa_config"] = box.config
    drive, outside = media_root / "USB", tmp_path / "box-disk"
    drive.mkdir(), outside.mkdir()
    if link == "folder":  # a `sohoa-export` made on another computer, pointing at the box's disk
        (drive / "sohoa-export").symlink_to(outside, target_is_directory=True)
    else:
        (drive / "sohoa-export").mkdir()
        (drive / "sohoa-export" / "manifest.json").symlink_to(outside / "important.json")
        (outside / "important.json").write_text("{}")
    _mount_table(app, tmp_path, drive)
    queue(box, tmp_path / "pkgs", os.urandom(5000))
    answer = login("admin").post("/sync/export", {"medium": str(drive)}, follow_redirects=True)
    assert "là một liên kết" in answer.get_data(as_text=True)
    assert sorted(p.name for p in outside.iterdir()) == ([] if link == "folder" else ["important.json"])
    if link == "manifest":
        assert (outside / "important.json").read_text() == "{}"
    assert events_for(box.db, "usb") == []
