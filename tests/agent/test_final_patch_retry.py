"""An upload whose final PATCH failed at the hub (its store full once) is taken in again at the
next pass, not left waiting for the upload to expire and be sent whole again."""

from __future__ import annotations

import itertools
import time

from click.testing import CliRunner

from agent.sync import SyncContext, sync_pass
from device.cli.main import cli
from device.db import outbox
from tests.agent import hubserver


def test_an_upload_whose_final_patch_failed_is_finished_at_the_next_pass(box, config_file, make_package,
                                                                          tmp_path):
    with hubserver.HubServer(tmp_path / "prov") as hub:
        enrolled = CliRunner().invoke(cli, ["--data", str(box.config.paths.data_dir), "--config",
                                            str(config_file), "enroll", hub.url, hub.enrollment_code()])
        assert enrolled.exit_code == 0, enrolled.output
        hub.hub.store = hubserver.FullOnce(hub.hub.store)
        upload = make_package(100_000)
        ticks = itertools.count(1)  # each pass a day later: back-off never holds it back
        context = SyncContext(sleep=lambda s: None, clock=lambda: time.time() + 86_400 * next(ticks))
        for _ in range(3):
            sync_pass(box, context)
        row = outbox.upload_by_sha256(box.db, upload["sha256"])
        assert hub.hub.store.failed and row["state"] == "accepted", (row["state"], row["last_error"])
        assert upload["sha256"] in hub.stored()
