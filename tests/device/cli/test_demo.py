"""`sohoa demo`, the quick start's main job: shoots pages with the simulated camera, reads them,
searches, approves and packages a dossier; a second run makes the next dossier."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from device.archive.validate import validate_package
from device.cli.main import cli


def test_demo_shoots_reads_searches_and_packages_a_dossier_and_can_run_again(tmp_path):
    data = tmp_path / "demo"
    first = CliRunner().invoke(cli, ["--data", str(data), "demo", "--pages", "2"])
    assert first.exit_code == 0, first.output
    assert "admin login: admin / " in first.stdout
    assert first.stdout.count("stored page ") == 2 and "(qc: ok)" in first.stdout
    assert "read 2 pages with Vietnamese OCR (0 failed)" in first.stdout
    [hit] = [line for line in first.stdout.splitlines() if line.startswith("search 'quoc hoi': ")]
    assert "[Quốc] [hội]" in hit
    [package_line] = [line for line in first.stdout.splitlines() if line.startswith("package ")]
    verdict = validate_package(Path(package_line.split()[1]))
    assert verdict.ok and verdict.pages == 2, verdict.reasons
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["numberOfPage"] == 2 and summary["state"] == "packaged"
    again = CliRunner().invoke(cli, ["--data", str(data), "demo", "--pages", "1"])
    assert again.exit_code == 0, again.output
    assert "admin login" not in again.stdout
    second = json.loads(again.stdout.strip().splitlines()[-1])
    assert second["fileCode"] != summary["fileCode"] and second["numberOfPage"] == 1
    fsck = CliRunner().invoke(cli, ["--data", str(data), "fsck"])
    assert fsck.exit_code == 0
