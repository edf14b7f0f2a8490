"""USB export jobs: the web UI's export to a plugged drive, copied beside the page work.

The sync page queues a `usb_export` job (subject: the drive's mount point) and answers at once;
copying gigabytes to a slow stick takes minutes, longer than a browser waits for a page. The
worker checks the drive again (it may have been pulled out or swapped meanwhile), copies with
an audit event per package (the sync page shows the count) and writes the manifest last. One
attempt: a failure is shown to the clerk with its reason in Vietnamese, not retried unseen.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from sqlite_utils import Database

from device.box import Box
from device.db.events import record_event
from device.db.jobs import USB_EXPORT, Job
from device.usb_export import EXPORT_FOLDER, PROC_MOUNTS, run_export_job
from device.worker.beside import SideJob, SideRunner

ACTOR = "sohoa-worker"


def _gave_up(db: Database, job: Job, error: str) -> None:
    """The export's end in the audit trail, beside its start (`usb.export_queued`)."""
    medium = Path(job.subject.removeprefix("usb:"))
    record_event(db, ACTOR, "usb.export_failed", "usb", str(medium / EXPORT_FOLDER),
                 {"reason": error, "job": job.id})


def usb_export_runner(box: Box, name: str, mount_table: Path = PROC_MOUNTS) -> SideRunner:
    """The runner of USB export jobs; `mount_table` is where plugged drives are listed (a test
    gives its own: no drive is plugged into a test machine)."""
    export = partial(run_export_job, mount_table=Path(mount_table))
    return SideRunner(box, name, SideJob(USB_EXPORT, export, _gave_up))
