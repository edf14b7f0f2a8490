"""`sohoa web`: serve the operator's web UI with waitress."""

from __future__ import annotations

import logging

import click

from device.cli.context import CliContext, pass_context
from device.sdnotify import Notifier

log = logging.getLogger(__name__)


@click.command()
@click.option("--bind", default=None, help="HOST:PORT (default: the config's web.bind).")
@pass_context
def web(context: CliContext, bind: str | None) -> None:
    """Serve the operator's web UI (login, dossiers, capture, search) on the office network."""
    from web_ui.app import create_app
    from web_ui.serve import make_server

    config = context.config
    settings = config.settings.web
    server = make_server(create_app(config), bind or settings.bind, settings.threads)
    click.echo(f"sohoa web listening on http://{server.effective_host}:{server.effective_port}")
    Notifier().notify("READY=1", f"STATUS=serving on port {server.effective_port}")
    try:
        server.run()
    finally:
        server.close()
