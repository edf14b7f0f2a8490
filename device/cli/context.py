"""What every command shares: the resolved configuration, the opened box, the acting user."""

from __future__ import annotations

import getpass
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from device.box import Box
from device.config import Config, load_config
from device.errors import InputError


@dataclass
class CliContext:
    data_dir: Path | None
    config_file: Path | None
    _config: Config | None = None
    _box: Box | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_file, self.data_dir)
        return self._config

    def box(self) -> Box:
        if self._box is None:
            self._box = Box.open(self.config)
        return self._box

    @property
    def actor(self) -> str:
        return f"cli:{getpass.getuser()}"

    def close(self) -> None:
        if self._box is not None:
            self._box.close()
            self._box = None


pass_context = click.make_pass_decorator(CliContext)


def read_json(source: str) -> Any:
    """A JSON document from a file path or '-' (standard input); InputError if malformed."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{source}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InputError(f"{source}: is not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: "
                         f"{exc.msg})", message_vi="Dữ liệu JSON không hợp lệ") from None


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))
