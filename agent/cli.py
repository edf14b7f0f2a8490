"""The agent's subcommands of `sohoa` (entry-point group `sohoa.commands`): enroll, sync, export, receipts."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from pathlib import Path

import click

from agent.backoff import Backoff
from agent.enrollment import enroll as enroll_box
from agent.errors import NotEnrolledError
from agent.sync import SyncContext, summary, sync_pass
from agent.throttle import seconds_until_window
from agent.usb import export_packages, import_receipts
from device.agent_settings import effective_agent
from device.box import Box
from device.cli.context import CliContext, echo_json, pass_context
from device.sdnotify import Notifier

log = logging.getLogger(__name__)

EXIT_PENDING = 75  # EX_TEMPFAIL: something is still without an accepted receipt


@click.command()
@click.argument("url")
@click.argument("code")
@pass_context
def enroll(ctx: CliContext, url: str, code: str) -> None:
    """Enroll this box with the hub at URL using the one-time CODE the archive gave you."""
    enrollment = enroll_box(ctx.box(), url, code, actor=ctx.actor)
    click.echo(f"enrolled with hub {enrollment.hub_id} as device {enrollment.device_id}")


@click.command()
@click.option("--once", is_flag=True,
              help="One pass; exit 0 only when every queued package has an accepted receipt.")
@pass_context
def sync(ctx: CliContext, once: bool) -> None:
    """Send reports and packages to the hub and fetch their signed receipts."""
    box = ctx.box()
    if once:
        result = sync_pass(box)
        done, text = summary(box)
        if result.error:
            text += f"; hub unreachable: {result.error}"
        if result.outside_window:
            text += "; outside the allowed time windows"
        click.echo(text)
        if not done:
            sys.exit(EXIT_PENDING)
        return
    run_forever(box)


def run_forever(box: Box, context: SyncContext | None = None) -> None:
    """Pass after pass: at the configured interval when all is well, backing off when not."""
    settings = effective_agent(box)  # re-read after each pass: the web UI may change it
    backoff = Backoff(settings.backoff_min_seconds, settings.backoff_max_seconds)
    notifier = Notifier()
    notifier.notify("READY=1")
    failures = 0
    while True:
        try:
            result = sync_pass(box, context)
            trouble = bool(result.error or result.failed)
        except NotEnrolledError as exc:
            log.warning("%s", exc)
            trouble = True
        done, text = summary(box)
        notifier.notify(f"STATUS={text[:200]}")
        failures = failures + 1 if trouble else 0
        settings = effective_agent(box)
        if failures:
            wait = backoff.delay(failures)
        elif not done and settings.time_windows:
            wait = max(1.0, seconds_until_window(settings.time_windows, dt.datetime.now()))
        else:
            wait = settings.interval_seconds if done else min(settings.interval_seconds, 5.0)
        log.info("sync: %s; next pass in %.0f s", text, wait)
        time.sleep(wait)


@click.command()
@click.option("--to", "target", required=True, type=click.Path(path_type=Path),
              help="Folder on the USB drive.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest.")
@pass_context
def export(ctx: CliContext, target: Path, as_json: bool) -> None:
    """Copy every package still without a receipt to a USB drive, with manifest.json last."""
    manifest = export_packages(ctx.box(), target, actor=ctx.actor)
    if as_json:
        echo_json(manifest)
    else:
        click.echo(f"{len(manifest['packages'])} packages written to {target}")


@click.group()
def receipts() -> None:
    """Receipts brought back from the hub on a USB drive."""


@receipts.command("import")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@pass_context
def receipts_import(ctx: CliContext, folder: Path, as_json: bool) -> None:
    """Verify and record the signed receipts in FOLDER/receipts/ (written by `sohoa hub import`)."""
    outcome = import_receipts(ctx.box(), folder)
    if as_json:
        echo_json(outcome)
    else:
        click.echo(", ".join(f"{len(names)} {kind}" for kind, names in outcome.items()))
    if outcome["refused"]:
        sys.exit(76)
