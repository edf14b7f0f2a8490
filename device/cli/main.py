"""The `sohoa` command: global options, error handling, and the subcommands of every client.

The core commands live here in `device`; `agent`, `hub` and `web_ui` add theirs through the
`sohoa.commands` entry-point group, so `device` never imports them.
"""

from __future__ import annotations

import logging
import sys
from importlib.metadata import entry_points
from pathlib import Path

import click

from device import __version__
from device.cli.context import CliContext
from device.errors import SohoaError

log = logging.getLogger("sohoa")


class SohoaGroup(click.Group):
    """A group whose errors print one line and exit with the error's own code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SohoaError as exc:
            click.echo(f"sohoa: error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=SohoaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=None,
              help="Data directory (default: SOHOA_DATA, the config's data_dir, /var/lib/sohoa).")
@click.option("--config", "config_file", type=click.Path(path_type=Path), default=None,
              help="Configuration file (default: /etc/sohoa/sohoa.toml if present).")
@click.option("-v", "--verbose", count=True, help="More log output (repeat for debug).")
@click.version_option(__version__, prog_name="sohoa")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, config_file: Path | None, verbose: int) -> None:
    """SoHoa Box: digitize archival records to TT05 packages."""
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(level, logging.DEBUG), stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = CliContext(data_dir=data_dir, config_file=config_file)
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    from device.cli import (capture_cmds, demo, package_cmds, process_cmds, records_cmds, store_cmds,
                            user_cmds, worker_cmds)

    for module in (store_cmds, records_cmds, user_cmds, worker_cmds, capture_cmds, demo, process_cmds,
                   package_cmds):
        for command in module.COMMANDS:
            cli.add_command(command)
    for entry in entry_points(group="sohoa.commands"):
        cli.add_command(entry.load(), name=entry.name)


_register()


def main() -> None:
    cli(prog_name="sohoa")
