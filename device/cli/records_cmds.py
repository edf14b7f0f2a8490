"""Commands on dossiers and documents: create, list, show, set, lifecycle moves, a document's PDF."""

from __future__ import annotations

from pathlib import Path

import click

from device.catalog import dossiers
from device.catalog.describe import dossier_json, dossier_list_json
from device.catalog.documents import set_document_fields
from device.cli.context import CliContext, echo_json, pass_context, read_json


@click.group()
def dossier() -> None:
    """Dossiers (hồ sơ)."""


@dossier.command("create")
@click.option("--json", "json_file", required=True, metavar="FILE",
              help="JSON object keyed by TT05 element names ('-' reads standard input).")
@pass_context
def dossier_create(context: CliContext, json_file: str) -> None:
    """Create a draft dossier; prints its fileCode."""
    click.echo(dossiers.create_dossier(context.box(), read_json(json_file), actor=context.actor))


@dossier.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def dossier_list(context: CliContext, as_json: bool) -> None:
    """Every dossier with its state and counts."""
    rows = dossier_list_json(context.box())
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        click.echo(f"{row['fileCode']}\t{row['state']}\tv{row['version']}\t"
                   f"{row['totalDoc']} documents\t{row['numberOfPage']} pages\t{row['title'] or ''}")


@dossier.command("show")
@click.argument("file_code")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def dossier_show(context: CliContext, file_code: str, as_json: bool) -> None:
    """Fields, state, documents and pages (with the sha256 of each blob)."""
    data = dossier_json(context.box(), file_code)
    if as_json:
        echo_json(data)
        return
    for key, value in data.items():
        if key not in ("documents", "fieldSources") and value is not None:
            click.echo(f"{key}: {value}")
    for document in data["documents"]:
        click.echo(f"document {document['docId']} ({document['numberOfPage']} pages)")
        for page in document["pages"]:
            click.echo(f"  page {page['position']} id {page['id']} {page['side']} sheet "
                       f"{page['sheet']} {page['state']} raw {page['rawSha256']}"
                       + (f" master {page['masterSha256']}" if page["masterSha256"] else ""))


@dossier.command("set")
@click.argument("file_code")
@click.option("--json", "json_file", required=True, metavar="FILE")
@pass_context
def dossier_set(context: CliContext, file_code: str, json_file: str) -> None:
    """Change dossier fields (draft rules; approval checks completeness)."""
    dossiers.set_dossier_fields(context.box(), file_code, read_json(json_file), actor=context.actor)
    click.echo(f"updated {file_code}")


def _move_command(action: str, help_text: str) -> click.Command:
    @click.argument("file_code")
    @click.option("--comment", default="", help="Why (kept in the audit trail).")
    @pass_context
    def command(context: CliContext, file_code: str, comment: str) -> None:
        state = dossiers.move(context.box(), file_code, action, actor=context.actor, comment=comment)
        click.echo(f"{file_code}: {state}")

    command.__doc__ = help_text
    return dossier.command(action)(command)


@dossier.command("approve")
@click.argument("file_code")
@pass_context
def dossier_approve(context: CliContext, file_code: str) -> None:
    """Approve a complete dossier (a draft is submitted for review first)."""
    state = dossiers.approve(context.box(), file_code, actor=context.actor)
    click.echo(f"{file_code}: {state}")


_move_command("submit", "Send a draft for review.")
_move_command("withdraw", "Take a dossier back from review to draft.")
_move_command("return", "Return a dossier under review to its authors, with a comment.")
_move_command("reopen", "Reopen a finished dossier as a new version.")


@click.group()
def document() -> None:
    """Documents (tài liệu)."""


@document.command("set")
@click.argument("doc_id")
@click.option("--json", "json_file", required=True, metavar="FILE")
@pass_context
def document_set(context: CliContext, doc_id: str, json_file: str) -> None:
    """Change a document's fields (draft rules)."""
    set_document_fields(context.box(), doc_id, read_json(json_file), actor=context.actor)
    click.echo(f"updated {doc_id}")


@document.command("pdf")
@click.argument("doc_id")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write it (default: DOCID.pdf in the current folder).")
@pass_context
def document_pdf(context: CliContext, doc_id: str, out_path: Path | None) -> None:
    """Write the document's PDF/A-2b from its processed pages (masters and OCR text)."""
    from device.archive.document_pdf import build_document_pdf

    written = build_document_pdf(context.box(), doc_id, out_path or Path(f"{doc_id}.pdf"))
    click.echo(f"wrote {written}")


COMMANDS = (dossier, document)
