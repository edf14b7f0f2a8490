"""`sohoa web`: serve the operator's web UI (HTTP by default, HTTPS when configured)."""

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
    from web_ui.tls import certificate_files, fingerprint

    config = context.config
    settings = config.settings.web
    tls = certificate_files(config) if settings.tls else None
    server = make_server(create_app(config), bind or settings.bind, settings.threads, tls)
    click.echo(f"sohoa web listening on {server.scheme}://{server.effective_host}:"
               f"{server.effective_port}")
    if tls is not None:
        click.echo(f"certificate SHA-256 fingerprint: {fingerprint(tls[0])}")
    Notifier().notify("READY=1", f"STATUS=serving on port {server.effective_port}")
    try:
        server.run()
    finally:
        server.close()
