"""A Mật (mode 03) package never leaves over the network, whatever later versions say."""

from __future__ import annotations

import hashlib
import os

from click.testing import CliRunner

from agent.sync import SyncContext, sync_pass
from device.catalog.dossiers import create_dossier, move, set_dossier_fields
from device.cli.main import cli
from device.db import packages as package_rows
from device.db import records, transaction
from tests.agent import hubserver
from tests.conftest import VALID_DOSSIER


def test_a_mat_version_stays_on_the_box_after_a_later_version_is_made_public(box, config_file, tmp_path):
    code = create_dossier(box, {**VALID_DOSSIER, "mode": "03"}, actor="t")
    dossier = records.dossier_by_code(box.db, code)
    assert not dossier["network_allowed"]
    # v1's package as the builder freezes it (recorded directly: building needs OCR'd pages).
    data = os.urandom(50_000)
    relpath = "outbox/secret.v1.aip.zip"
    (box.config.paths.data_dir / "outbox").mkdir(exist_ok=True)
    (box.config.paths.data_dir / relpath).write_bytes(data)
    sha256 = hashlib.sha256(data).hexdigest()
    with transaction(box.db):
        package_rows.record_package(box.db, dossier_id=dossier["id"], dossier_version=dossier["version"],
                                    kind="aip", package_id="pkg-secret-v1", sha256=sha256,
                                    size=len(data), relpath=relpath, supersedes_package_id=None,
                                    network_allowed=bool(dossier["network_allowed"]))
        records.update_dossier(box.db, dossier["id"], state="packaged")
    move(box, code, "reopen", actor="t")  # v2, a draft
    set_dossier_fields(box, code, {"mode": "01"}, actor="t")  # v2 says public; v1 is still Mật
    with hubserver.HubServer(tmp_path / "prov") as hub:
        enrolled = CliRunner().invoke(cli, ["--data", str(box.config.paths.data_dir), "--config",
                                            str(config_file), "enroll", hub.url, hub.enrollment_code()])
        assert enrolled.exit_code == 0, enrolled.output
        sync_pass(box, SyncContext(sleep=lambda s: None))
        assert sha256 not in hub.stored()
    [held] = [row for row in box.db.query("SELECT state FROM uploads WHERE sha256 = ?", [sha256])]
    assert held["state"] == "held"


def test_the_report_to_the_hub_carries_no_trace_of_a_mat_dossier_only_a_count(box, config_file,
                                                                              tmp_path):
    import json

    from hub import catalog

    secret = {**VALID_DOSSIER, "fileCode": "H49.64.33.2001.161", "mode": "03",
              "title": "Hồ sơ mật về quốc phòng"}
    create_dossier(box, secret, actor="t")
    public = create_dossier(box, dict(VALID_DOSSIER), actor="t")
    with hubserver.HubServer(tmp_path / "prov") as hub:
        enrolled = CliRunner().invoke(cli, ["--data", str(box.config.paths.data_dir), "--config",
                                            str(config_file), "enroll", hub.url, hub.enrollment_code()])
        assert enrolled.exit_code == 0, enrolled.output
        assert sync_pass(box, SyncContext(sleep=lambda s: None)).reported
        db = hub.hub.catalog()
        try:
            report = catalog.latest_report(db, "box-1")
        finally:
            db.close()
    received = json.dumps(report, ensure_ascii=False)
    assert secret["fileCode"] not in received and secret["title"] not in received
    assert [entry["fileCode"] for entry in report["dossiers"]] == [public]
    assert report["health"]["dossiers_kept_on_box"] == 1
