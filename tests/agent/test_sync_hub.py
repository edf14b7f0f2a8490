"""The agent against the real hub on 127.0.0.1, through the fault-injecting proxy."""

from __future__ import annotations

import itertools
import stat
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.errors import NotEnrolledError
from agent.sync import SyncContext, sync_pass
from device.cli.main import cli
from device.db import outbox
from tests.agent.conftest import set_agent
from tests.agent.faultproxy import FaultProxy

pytest.importorskip("waitress")
hubserver = pytest.importorskip("tests.agent.hubserver")

CHUNK = 64 << 10


@pytest.fixture
def hub(tmp_path):
    with hubserver.HubServer(tmp_path / "province") as server:
        yield server


def sohoa(box, config_file, *args):
    return CliRunner().invoke(cli, ["--data", str(box.config.paths.data_dir), "--config",
                                    str(config_file), *map(str, args)], catch_exceptions=False)


@pytest.fixture
def enrolled(box, config_file, hub):
    result = sohoa(box, config_file, "enroll", hub.url, hub.enrollment_code())
    assert result.exit_code == 0, result.output
    set_agent(box, chunk_bytes=CHUNK, backoff_min_seconds=0.01, backoff_max_seconds=0.05,
              request_timeout_seconds=2)
    return box


def later_and_later():
    """A clock that jumps a day per reading, so every back-off has run out at the next pass."""
    ticks = itertools.count(1)
    return lambda: time.time() + 86_400 * next(ticks)


def passes_until_done(box, url: str, limit: int = 40) -> int:
    """Run passes (as the unit's loop would) until every upload is acknowledged."""
    outbox.set_sync_values(box.db, {"hub_url": url})
    context = SyncContext(sleep=lambda s: None, clock=later_and_later())
    for count in range(1, limit + 1):
        sync_pass(box, context)
        if not outbox.unacknowledged_uploads(box.db):
            return count
    raise AssertionError(f"not done after {limit} passes: {outbox.outbox_figures(box.db)}")


def test_enrollment_pins_the_hubs_key_and_keeps_the_token_private(enrolled, hub):
    values = outbox.sync_values(enrolled.db)
    assert values["hub_public_key"] == hub.hub.public_key
    token = enrolled.config.paths.secrets / "hub_token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600


def test_a_used_code_is_refused(box, config_file, hub):
    code = hub.enrollment_code()
    assert sohoa(box, config_file, "enroll", hub.url, code).exit_code == 0
    result = sohoa(box, config_file, "enroll", hub.url, code)
    assert result.exit_code == 65 and "refused" in result.output


def test_every_package_arrives_once_and_byte_identical_through_every_fault(enrolled, hub, make_package):
    uploads = [make_package(size) for size in (150_000, 420_000, 700_000)]
    with FaultProxy(("127.0.0.1", hub.port)) as proxy:
        proxy.faults.cut_every = 250_000
        proxy.faults.latency = 0.002
        proxy.faults.rate = 20_000_000
        proxy.faults.fail_next = 3
        proxy.faults.stall_next = 1
        proxy.faults.stall_seconds = 10
        proxy.faults.truncate_next = 2
        passes_until_done(enrolled, proxy.url)
        total = sum(u["size"] for u in uploads)
        assert proxy.stats.cuts >= 4 and proxy.stats.failed == 3
        assert proxy.stats.stalled == 1 and proxy.stats.truncated == 2
        # A cut, a stall or a truncated answer costs at most the chunk in flight.
        faults = proxy.stats.cuts + proxy.stats.stalled + proxy.stats.truncated
        assert proxy.stats.body_bytes_up - total <= faults * CHUNK
    stored = hub.stored()
    assert len(stored) == 3
    for upload in uploads:
        assert stored[upload["sha256"]] == Path(upload["local_path"]).read_bytes()
        row = outbox.upload_by_sha256(enrolled.db, upload["sha256"])
        assert row["state"] == "accepted" and row["receipt_verified_at"]


def test_sync_once_exits_zero_only_when_everything_is_accepted(enrolled, config_file, hub, make_package):
    make_package(100_000)
    outbox.set_sync_values(enrolled.db, {"hub_url": "http://127.0.0.1:9"})  # nobody listens
    result = sohoa(enrolled, config_file, "sync", "--once")
    assert result.exit_code == 75 and "1 queued" in result.output and "unreachable" in result.output
    outbox.set_sync_values(enrolled.db, {"hub_url": hub.url})
    result = sohoa(enrolled, config_file, "sync", "--once")
    assert result.exit_code == 0, result.output
    assert "1 accepted" in result.output


def test_a_package_changed_during_its_upload_is_refused_by_the_hub_and_kept(enrolled, hub, make_package):
    upload = make_package(400_000)
    path = Path(upload["local_path"])

    def tamper() -> None:  # the bytes change on the box after the first ones left
        data = bytearray(path.read_bytes())
        data[-10] ^= 0xFF
        path.write_bytes(bytes(data))
        proxy.faults.cut_every = 0

    set_agent(enrolled, retention_days=0)
    with FaultProxy(("127.0.0.1", hub.port)) as proxy:
        proxy.faults.cut_every = 200_000
        proxy.on_cut = tamper
        outbox.set_sync_values(enrolled.db, {"hub_url": proxy.url})
        context = SyncContext(sleep=lambda s: None, clock=later_and_later())
        for _ in range(3):
            sync_pass(enrolled, context)
    row = outbox.upload_by_sha256(enrolled.db, upload["sha256"])
    assert row["state"] not in ("accepted", "rejected") and row["receipt"] is None
    assert "SHA-256" in row["last_error"]
    assert upload["sha256"] not in hub.stored()
    assert path.exists()  # no receipt, no deletion


def test_a_revoked_token_stops_the_pass(enrolled, hub, make_package):
    from hub.devices import revoke

    make_package(10_000)
    db = hub.hub.catalog()
    revoke(db, outbox.sync_values(enrolled.db)["device_id"], actor="test")
    db.conn.close()
    with pytest.raises(NotEnrolledError):
        sync_pass(enrolled, SyncContext(sleep=lambda s: None))
