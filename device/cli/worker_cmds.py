"""`sohoa worker`: runs the processing job loop."""

from __future__ import annotations

import click

from device.cli.context import CliContext, pass_context
from device.errors import ProcessingError


@click.command()
@click.option("--once", is_flag=True,
              help="Process every queued job and exit (non-zero if any page failed).")
@pass_context
def worker(context: CliContext, once: bool) -> None:
    """Claim page jobs from the database and process them."""
    from device.ocr.engine import OcrEngine  # loads Tesseract: only when the worker runs
    from device.worker import run_forever, run_once

    box = context.box()
    with OcrEngine() as engine:
        if not once:
            run_forever(box, engine)
        report = run_once(box, engine)
    click.echo(f"processed {report.processed} pages, {report.failed} failed")
    if report.failed:
        raise ProcessingError(f"{report.failed} pages failed; see `sohoa dossier show` for reasons")


COMMANDS = (worker,)
