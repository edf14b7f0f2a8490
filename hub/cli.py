"""`sohoa hub …`: serve, enroll and revoke devices, list packages, staff logins, USB import."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from device.accounts import generate_password
from device.cli.context import CliContext, echo_json, pass_context
from device.db.connection import transaction
from device.errors import InputError
from device.sdnotify import Notifier
from hub import catalog
from hub.context import Hub
from hub.devices import issue_enrollment_code, revoke
from hub.staff import add_staff
from hub.usb import import_folder

log = logging.getLogger(__name__)


def _hub(context: CliContext) -> Hub:
    return Hub.open(context.config)


@click.group()
def hub() -> None:
    """The provincial hub: receives packages from the boxes and signs receipts."""


@hub.command("serve")
@click.option("--bind", default=None, help="HOST:PORT (default: the config's hub.bind).")
@pass_context
def serve(context: CliContext, bind: str | None) -> None:
    """Serve the device API, tus uploads and the staff dashboard (waitress)."""
    from hub.app import create_app
    from hub.serve import ExpiryThread, make_server

    opened = _hub(context)
    server = make_server(create_app(context.config, hub=opened), opened,
                         bind or opened.settings.bind)
    expiry = ExpiryThread(opened)
    expiry.start()
    click.echo(f"sohoa hub {opened.hub_id} listening on "
               f"http://{server.effective_host}:{server.effective_port}")
    Notifier().notify("READY=1", f"STATUS=serving on port {server.effective_port}")
    try:
        server.run()
    finally:
        expiry.stopping.set()
        server.close()


@hub.command("info")
@pass_context
def info(context: CliContext) -> None:
    """This hub's id and receipt-signing public key (what boxes pin)."""
    opened = _hub(context)
    echo_json({"hub_id": opened.hub_id, "public_key": opened.public_key,
               "data_dir": str(opened.paths.root)})


@hub.command("enroll")
@click.option("--device", "device_id", required=True, help="Name of the box (e.g. its commune).")
@pass_context
def enroll(context: CliContext, device_id: str) -> None:
    """Print a one-time enrollment code for a device (valid hub.enroll_code_hours)."""
    opened = _hub(context)
    db = opened.catalog()
    try:
        code = issue_enrollment_code(db, device_id, opened.settings.enroll_code_hours,
                                     actor=context.actor)
    finally:
        db.close()
    click.echo(code)


@hub.command("revoke")
@click.option("--device", "device_id", required=True)
@pass_context
def revoke_cmd(context: CliContext, device_id: str) -> None:
    """Revoke a device's token: its calls get 401 until it enrolls again."""
    db = _hub(context).catalog()
    try:
        revoke(db, device_id, actor=context.actor)
    finally:
        db.close()
    click.echo(f"revoked {device_id}")


@hub.command("packages")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts.")
@pass_context
def packages(context: CliContext, as_json: bool) -> None:
    """Packages received: id, sha256, size, device, verdict, received time."""
    db = _hub(context).catalog()
    try:
        rows = [{key: row[key] for key in ("package_id", "sha256", "size", "device_id", "verdict",
                                          "reasons", "received_at", "source")}
                for row in catalog.packages(db)]
    finally:
        db.close()
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        click.echo(f"{row['package_id']}  {row['sha256']}  {row['size']:>11}  "
                   f"{row['device_id']}  {row['verdict']}  {row['received_at']}")


@hub.group("user")
def user() -> None:
    """Staff logins to the dashboard."""


@user.command("add")
@click.argument("username")
@click.option("--password", default=None, help="Default: a generated one, printed once.")
@pass_context
def user_add(context: CliContext, username: str, password: str | None) -> None:
    """Create a staff login."""
    chosen = password or generate_password()
    db = _hub(context).catalog()
    try:
        add_staff(db, username, chosen, actor=context.actor)
    finally:
        db.close()
    click.echo(f"created staff user {username!r}" + ("" if password else f" with password {chosen}"))


@hub.command("import")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--device", "device_id", required=True,
              help="The enrolled device the drive came from (its manifest must name it too).")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def import_cmd(context: CliContext, folder: Path, device_id: str, as_json: bool) -> None:
    """Take in the packages of a USB export from DEVICE; receipts go to FOLDER/receipts/."""
    opened = _hub(context)
    db = opened.catalog()
    try:
        outcome = import_folder(opened, db, folder, device_id)
        with transaction(db):
            catalog.record_event(db, context.actor, "usb.import", device_id,
                                 {"folder": str(folder), **outcome.as_dict()})
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps(outcome.as_dict(), ensure_ascii=False, indent=2))
    else:
        for verdict, names in outcome.as_dict().items():
            for name in names:
                click.echo(f"{verdict}: {name}")
    if outcome.incomplete:
        raise InputError(f"{len(outcome.incomplete)} package(s) missing or damaged on the drive; "
                         "copy them again", message_vi="Có gói bị thiếu hoặc hỏng trên ổ USB")
