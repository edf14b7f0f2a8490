"""The second copy: made even while the hub is out of reach, removed once the receipt is in."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from agent.sync import SyncContext, sync_pass
from device.cli.main import cli
from device.db import outbox
from tests.agent import hubserver
from tests.agent.conftest import set_agent


def test_a_package_waiting_offline_already_has_its_second_copy(box, make_package, pin, tmp_path):
    usb = tmp_path / "usb"
    usb.mkdir()
    pin(url="http://127.0.0.1:9")  # enrolled, but the hub is out of reach: the usual commune case
    set_agent(box, second_copy_dir=usb, request_timeout_seconds=1)
    upload = make_package()
    sync_pass(box, SyncContext(sleep=lambda s: None))
    [copy] = list(usb.iterdir())
    assert copy.read_bytes() == Path(upload["local_path"]).read_bytes()


def test_the_second_copy_is_removed_when_the_accepted_receipt_arrives(box, config_file, make_package,
                                                                       tmp_path):
    usb = tmp_path / "usb"
    usb.mkdir()
    with hubserver.HubServer(tmp_path / "prov") as hub:
        enrolled = CliRunner().invoke(cli, ["--data", str(box.config.paths.data_dir), "--config",
                                            str(config_file), "enroll", hub.url, hub.enrollment_code()])
        assert enrolled.exit_code == 0, enrolled.output
        set_agent(box, second_copy_dir=usb)
        upload = make_package()
        sync_pass(box, SyncContext(sleep=lambda s: None))
    assert outbox.upload_by_sha256(box.db, upload["sha256"])["state"] == "accepted"
    assert list(usb.iterdir()) == []
