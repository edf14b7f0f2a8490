"""Core commands on the box's data: init, check-config, import, search, fsck."""

from __future__ import annotations

from pathlib import Path

import click

from device.cli.context import CliContext, echo_json, pass_context
from device.db.search import search_pages
from device.errors import IntegrityError
from device.fsck import check_box
from device.intake import import_files
from device.provision import init_box


@click.command()
@click.option("--admin", "admin_username", default="admin", show_default=True,
              help="Name of the first admin account, created when there is no admin yet.")
@pass_context
def init(context: CliContext, admin_username: str) -> None:
    """Create the data directory, database, secrets and first admin; safe to repeat."""
    report = init_box(context.config, actor=context.actor, admin_username=admin_username)
    click.echo(f"box data ready in {report.data_dir}")
    for name in report.created_secrets:
        click.echo(f"generated secret {name}")
    if report.admin_password:
        click.echo(f"created admin account {report.admin_username!r} with password "
                   f"{report.admin_password} (shown once; change it after the first login)")


@click.command("check-config")
@pass_context
def check_config(context: CliContext) -> None:
    """Print the resolved configuration; exit non-zero with a clear message when it is wrong."""
    echo_json(context.config.describe())


@click.command("import")
@click.argument("file_code")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--document", "document_seq", type=click.IntRange(min=1), default=None,
              help="Append to this document (its STT) instead of creating a new one.")
@click.option("--spread", is_flag=True,
              help="Each image is an open register: split it into its left and right pages.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def import_command(context: CliContext, file_code: str, files: tuple[Path, ...],
                   document_seq: int | None, spread: bool, as_json: bool) -> None:
    """Add image files and PDFs as the pages of one new document of dossier FILE_CODE."""
    report = import_files(context.box(), file_code, list(files), actor=context.actor,
                          document_seq=document_seq, spread=spread)
    if as_json:
        echo_json({"docId": report.doc_id, "pages": report.pages})
        return
    for page in report.pages:
        click.echo(f"stored page {page['id']} of {report.doc_id} from {page['file']}"
                   f"{' frame ' + str(page['frame'] + 1) if page['frame'] else ''}"
                   f"{' (' + page['side'] + ')' if spread else ''} sha256 {page['sha256']}"
                   f"{''.join(', ' + flag for flag in page['flags'])}")


@click.command()
@click.argument("query")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_context
def search(context: CliContext, query: str, limit: int, as_json: bool) -> None:
    """Full-text search of page text; tone marks and đ are optional."""
    hits = search_pages(context.box().db, query, limit)
    if as_json:
        echo_json(hits)
        return
    for hit in hits:
        click.echo(f"{hit['docId']} page {hit['position']} (id {hit['page_id']}): {hit['snippet']}")
    if not hits:
        click.echo("no pages match")


@click.command()
@click.option("--json", "as_json", is_flag=True)
@pass_context
def fsck(context: CliContext, as_json: bool) -> None:
    """Verify every blob against its hash and the database against the blobs."""
    report = check_box(context.box())
    if as_json:
        echo_json({"ok": report.ok, "problems": report.problems, "notes": report.notes,
                   "blobsChecked": report.blobs_checked})
    else:
        for line in report.problems:
            click.echo(f"PROBLEM {line}")
        for line in report.notes:
            click.echo(f"note {line}")
        click.echo(f"checked {report.blobs_checked} blobs: "
                   + ("ok" if report.ok else f"{len(report.problems)} problems"))
    if not report.ok:
        raise IntegrityError(f"{len(report.problems)} problems found")


COMMANDS = (init, check_config, import_command, search, fsck)
