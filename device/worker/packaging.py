"""Packaging jobs: the package of an approved dossier version, built beside the page work.

Approval queues a `package_dossier` job (subject: dossier id and version). The job loop claims
one at a time and builds it in a thread with its own database connection
(`device.worker.beside`), so the page processes keep getting pages meanwhile: a big dossier's
PDFs take minutes on a Pi, and the clerk shooting the next dossier must not wait for them.
A job whose dossier has moved on (reopened as a new version) builds nothing, also when it moves
on while the build runs (the package is then refused when frozen): that is a stale job, done,
not a failed attempt. Results are recorded only with the claim's token (`device.db.jobs`).
"""

from __future__ import annotations

import logging

from sqlite_utils import Database

from device.box import Box
from device.db import records
from device.db.events import record_event
from device.db.jobs import PACKAGE_DOSSIER, Job, parse_package_subject
from device.errors import StateError
from device.records import lifecycle
from device.worker.beside import SideJob, SideRunner

log = logging.getLogger(__name__)

ACTOR = "sohoa-worker"
PACKAGE_KIND = "aip"  # what the agent sends (TT05 Điều 8.3); a SIP is built on demand (`sohoa package --kind sip`)
_BUILDABLE = frozenset({lifecycle.S.APPROVED, lifecycle.S.SIGNED, lifecycle.S.PACKAGED,
                        lifecycle.S.SENT, lifecycle.S.ACCEPTED, lifecycle.S.REJECTED})


def package_version(box: Box, dossier_id: int, version: int, *, actor: str = ACTOR) -> str | None:
    """Build (or find) the package of the dossier at `version`; None, building nothing, when the
    dossier is gone or has moved on to another version or back to a draft."""
    from device.archive.package import build_package  # the PDF and METS writers, on first use

    dossier = records.dossier_by_id(box.db, dossier_id)
    if _stale(dossier, dossier_id, version):
        return None
    try:
        info = build_package(box, dossier["file_code"], kind=PACKAGE_KIND, actor=actor,
                             version=version)
    except StateError:
        # Reopened (a new version) while this one was built: its package is refused when frozen.
        if _stale(records.dossier_by_id(box.db, dossier_id), dossier_id, version):
            return None
        raise
    return info.package_id


def _stale(dossier: dict | None, dossier_id: int, version: int) -> bool:
    """Whether the dossier is gone, at another version or back to a draft (logged if so)."""
    if dossier is not None and dossier["version"] == version and \
            lifecycle.DossierState(dossier["state"]) in _BUILDABLE:
        return False
    log.info("packaging job of dossier %d v%d is stale (now %s); nothing built", dossier_id,
             version, f"v{dossier['version']} {dossier['state']}" if dossier else "deleted")
    return True


def _build(box: Box, subject: str) -> str | None:
    dossier_id, version = parse_package_subject(subject)
    return package_version(box, dossier_id, version)


def _gave_up(db: Database, job: Job, error: str) -> None:
    """The dossier page shows a packaging job that failed for good, with its reason."""
    dossier_id, version = parse_package_subject(job.subject)
    record_event(db, ACTOR, "dossier.package_failed", "dossier", dossier_id,
                 {"version": version, "reason": error, "attempts": job.attempts})


PACKAGING = SideJob(PACKAGE_DOSSIER, _build, _gave_up)


class PackagingRunner(SideRunner):
    """At most one packaging job at a time, in a thread (`device.worker.beside`)."""

    def __init__(self, box: Box, name: str) -> None:
        super().__init__(box, name, PACKAGING)

    @property
    def built(self) -> int:
        """Packages built (a stale job builds none)."""
        return self.done
