"""`sohoa package`: build (once) and print the TT05 package zip of an approved dossier."""

from __future__ import annotations

import click

from device.archive.package import KINDS, build_package
from device.cli.context import CliContext, echo_json, pass_context


@click.command("package")
@click.argument("file_code")
@click.option("--kind", type=click.Choice(KINDS), default="aip", show_default=True,
              help="aip: AIP_hoso, what the box sends (TT05 Điều 8.3); sip: SIP_hoso for "
                   "transfer to another system.")
@click.option("--json", "as_json", is_flag=True, help="Print the package's details as JSON.")
@pass_context
def package(context: CliContext, file_code: str, kind: str, as_json: bool) -> None:
    """Build the dossier's package (or return the one already built for this version) and
    print the zip's path. Approved → packaged. The worker builds the AIP by itself after
    approval; this is for a SIP, or to build at once."""
    info = build_package(context.box(), file_code, kind=kind, actor=context.actor)
    if not info.network_allowed:
        click.echo(f"sohoa: warning: {file_code} is Mật (mode 03): carry this package by USB only; "
                   "it is never sent over a network", err=True)
    if as_json:
        echo_json({"path": str(info.path), "packageId": info.package_id, "kind": info.kind,
                   "sha256": info.sha256, "size": info.size, "fileCode": info.file_code,
                   "version": info.dossier_version, "supersedes": info.supersedes_package_id,
                   "networkAllowed": info.network_allowed, "built": info.built})
    else:
        click.echo(str(info.path))


COMMANDS = (package,)
