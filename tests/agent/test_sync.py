"""One sync pass against a hub in memory: order, Mật dossiers held, receipts verified, no deletion."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import NotEnrolledError
from agent.sync import SyncContext, summary, sync_pass
from device.catalog.dossiers import create_dossier
from device.db import outbox
from tests.agent.conftest import set_agent, signed
from tests.agent.memhub import MemoryHub
from tests.conftest import VALID_DOSSIER


@pytest.fixture
def hub(hub_key, pin):
    pin("http://hub.test")
    return MemoryHub(hub_key)


def run(box, hub: MemoryHub):
    return sync_pass(box, SyncContext(transport=hub.transport(), sleep=lambda s: None))


def test_a_pass_reports_first_then_sends_smallest_first_and_accepts(box, hub, make_package):
    big, small = make_package(300_000), make_package(20_000)
    result = run(box, hub)
    assert result.accepted == [small["sha256"], big["sha256"]]
    assert hub.stored[big["sha256"]] == Path(big["local_path"]).read_bytes()
    assert hub.calls[0] == ("POST", "/api/v1/report")  # small things first
    assert hub.reports[0]["health"]["queue_depth"] == 2
    assert summary(box)[0] is True
    assert Path(big["local_path"]).exists()  # accepted, but retention is off: kept


def test_a_package_the_hub_already_holds_is_not_sent_again(box, hub, make_package):
    upload = make_package()
    hub.stored[upload["sha256"]] = Path(upload["local_path"]).read_bytes()
    assert run(box, hub).accepted == [upload["sha256"]]
    assert not [r for r in hub.tus.requests if r.method in ("POST", "PATCH")]


def test_mat_dossiers_never_leave_over_the_network(box, hub, make_package):
    secret = create_dossier(box, {**VALID_DOSSIER, "fileCode": "H49.64.33.2001.161", "mode": "03"},
                            actor="test")
    upload = make_package(file_code=secret)
    result = run(box, hub)
    assert result.held == [upload["sha256"]] and hub.tus.requests == []
    row = outbox.upload_by_sha256(box.db, upload["sha256"])
    assert row["state"] == "held" and "Mật" in row["last_error"]
    # Nothing of the dossier travels in the report either, only the count of such dossiers.
    assert hub.reports[0]["dossiers"] == [] and secret not in str(hub.reports[0])
    assert hub.reports[0]["health"]["dossiers_kept_on_box"] == 1
    done, text = summary(box)
    assert not done and "1 held" in text


def test_a_forged_receipt_leaves_the_upload_unacknowledged(box, hub, hub_key, make_package):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    upload = make_package()
    impostor = Ed25519PrivateKey.generate()
    hub.forge = lambda document: signed(impostor, upload)
    result = run(box, hub)
    row = outbox.upload_by_sha256(box.db, upload["sha256"])
    assert result.accepted == [] and row["state"] == "uploaded" and row["receipt"] is None
    assert "signature" in row["last_error"]
    set_agent(box, retention_days=0)
    assert run(box, hub).accepted == [] and Path(upload["local_path"]).exists()  # no receipt, no deletion


def test_a_tampered_local_package_is_not_sent(box, hub, make_package):
    upload = make_package()
    path = Path(upload["local_path"])
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    result = run(box, hub)
    assert upload["sha256"] in result.failed and hub.stored == {}
    assert not [r for r in hub.tus.requests if r.method == "POST"]
    assert "SHA-256" in outbox.upload_by_sha256(box.db, upload["sha256"])["last_error"]


def test_an_unreachable_hub_changes_nothing_but_the_error(box, hub, make_package):
    upload = make_package()
    hub.down = True
    result = run(box, hub)
    assert result.error and not result.reported
    assert outbox.upload_by_sha256(box.db, upload["sha256"])["state"] == "queued"


def test_outside_the_time_windows_only_the_report_is_sent(box, hub, make_package):
    import datetime as dt

    now = dt.datetime.now()
    start = (now + dt.timedelta(hours=2)).strftime("%H:%M")
    end = (now + dt.timedelta(hours=3)).strftime("%H:%M")
    set_agent(box, time_windows=[f"{start}-{end}"])
    make_package()
    result = run(box, hub)
    assert result.outside_window and result.reported and hub.tus.requests == []


def test_an_upload_stops_between_chunks_when_its_window_closes_and_goes_on_in_the_next(
        box, hub, make_package):
    import datetime as dt

    set_agent(box, time_windows=["08:00-17:00"], chunk_bytes=256 * 1024)
    upload = make_package(1024 * 1024)
    # Inside at the start of the pass and after the first chunk; 17:00 after the second.
    times = iter([dt.datetime(2026, 11, 26, 16, 59), dt.datetime(2026, 11, 26, 16, 59, 30)])
    context = SyncContext(transport=hub.transport(), sleep=lambda s: None,
                          wall_clock=lambda: next(times, dt.datetime(2026, 11, 26, 17, 0)))
    result = sync_pass(box, context)
    row = outbox.upload_by_sha256(box.db, upload["sha256"])
    assert result.outside_window and result.failed == {} and result.accepted == []
    assert row["upload_offset"] == 2 * 256 * 1024 and row["attempts"] == 0
    assert row["last_error"] is None  # a closed window is not a failure

    next_morning = SyncContext(transport=hub.transport(), sleep=lambda s: None,
                               wall_clock=lambda: dt.datetime(2026, 11, 27, 8, 30))
    assert sync_pass(box, next_morning).accepted == [upload["sha256"]]
    assert hub.stored[upload["sha256"]] == Path(upload["local_path"]).read_bytes()
    patches = [r for r in hub.tus.requests if r.method == "PATCH"]
    assert len(patches) == 4  # nothing sent twice


def test_a_pass_without_enrollment_says_so(box, make_package):
    make_package()
    with pytest.raises(NotEnrolledError):
        sync_pass(box)
