"""`sohoa worker`: runs the processing job loop over a pool of page processes."""

from __future__ import annotations

import time

import click

from device.cli.context import CliContext, pass_context
from device.errors import ProcessingError


@click.command()
@click.option("--once", is_flag=True,
              help="Process every queued job and exit (non-zero if any page failed).")
@click.option("--processes", type=click.IntRange(0, 64), default=None,
              help="Page processes (default: worker.processes; 0 = one per core but one).")
@pass_context
def worker(context: CliContext, once: bool, processes: int | None) -> None:
    """Claim page jobs from the database and process them: master, OCR, search index."""
    from device.worker import run_once

    box = context.box()
    report = run_once(box, processes=processes) if once else _serve(box, processes)
    click.echo(f"processed {report.processed} pages, {report.failed} failed"
               + (f", {report.retried} to retry" if report.retried else "")
               + (f"; peak memory per page process {report.peak_rss_mb:.0f} MiB"
                  if report.peak_rss_mb else ""))
    if once and report.failed:  # a stopped service is not a failed one
        raise ProcessingError(f"{report.failed} pages failed; see `sohoa dossier show` for reasons")


def _serve(box, processes: int | None):
    """The service: READY once the page processes run, WATCHDOG while the loop turns."""
    from device.sdnotify import Notifier
    from device.worker import run_forever

    notifier = Notifier()
    last_ping = [0.0]

    def alive() -> None:
        period = notifier.watchdog_seconds
        if period and time.monotonic() - last_ping[0] >= period / 3:
            notifier.watchdog()
            last_ping[0] = time.monotonic()

    try:
        report = run_forever(box, processes=processes, alive=alive,
                             ready=lambda: notifier.ready("processing pages"))
        notifier.stopping("stopped")
        return report
    finally:
        notifier.close()


COMMANDS = (worker,)
