"""Running the sohoa command in-process, and snapshots that prove a command changed nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from device.cli.main import cli


@dataclass
class Sohoa:
    data: Path
    config: Path

    def __call__(self, *args: str, stdin: str | None = None):
        result = CliRunner().invoke(
            cli, ["--data", str(self.data), "--config", str(self.config), *map(str, args)],
            input=stdin, catch_exceptions=False)
        return result

    def json(self, *args: str):
        result = self(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def snapshot(self) -> tuple:
        """Everything stored: every table's rows and every file under the blob store."""
        import sqlite3

        conn = sqlite3.connect(self.data / "sohoa.db")
        dump = "\n".join(conn.iterdump())
        conn.close()
        blobs = sorted(str(p.relative_to(self.data)) for p in (self.data / "blobs").rglob("*"))
        return dump, blobs


@pytest.fixture
def sohoa(tmp_path: Path, config_file: Path) -> Sohoa:
    runner = Sohoa(tmp_path / "data", config_file)
    assert runner("init").exit_code == 0
    return runner


@pytest.fixture
def write_json(tmp_path: Path):
    def write(data, name="input.json") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        return path
    return write
