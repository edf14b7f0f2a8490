"""`sohoa demo`, the quick start's main job: sets up a box and imports rendered sample pages."""

from __future__ import annotations

import json

from click.testing import CliRunner

from device.cli.main import cli


def test_demo_sets_up_a_box_and_stores_sample_pages_and_can_run_again(tmp_path):
    data = tmp_path / "demo"
    first = CliRunner().invoke(cli, ["--data", str(data), "demo", "--pages", "2"])
    assert first.exit_code == 0, first.output
    assert "admin login: admin / " in first.stdout
    assert first.stdout.count("stored page ") == 2
    assert "read 2 pages with Vietnamese OCR (0 failed)" in first.stdout
    [hit] = [line for line in first.stdout.splitlines() if line.startswith("search 'quoc hoi': ")]
    assert "[Quốc] [hội]" in hit
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["numberOfPage"] == 2 and summary["state"] == "draft"
    again = CliRunner().invoke(cli, ["--data", str(data), "demo", "--pages", "1"])
    assert again.exit_code == 0 and "admin login" not in again.stdout
    assert json.loads(again.stdout.strip().splitlines()[-1])["numberOfPage"] == 3
    fsck = CliRunner().invoke(cli, ["--data", str(data), "fsck"])
    assert fsck.exit_code == 0
