"""Packaging jobs: the package of an approved dossier version, built beside the page work.

Approval queues a `package_dossier` job (subject: dossier id and version). The job loop claims
one at a time and builds it in a thread with its own database connection, so the page
processes keep getting pages meanwhile: a big dossier's PDFs take minutes on a Pi, and the
clerk shooting the next dossier must not wait for them. The build itself is mostly blob reads,
zlib and hashing (C code that releases the GIL), so the loop's thread keeps turning.
A job whose dossier has moved on (reopened as a new version) builds nothing, also when it moves
on while the build runs (the package is then refused when frozen): that is a stale job, done,
not a failed attempt. Results are recorded only with the claim's token (`device.db.jobs`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from device.box import Box
from device.config import Config
from device.db import records, transaction
from device.db.events import record_event
from device.db.jobs import (
    PACKAGE_DOSSIER, Job, claim_next_job, extend_lease, fail_job, finish_job, parse_package_subject,
)
from device.errors import SohoaError, StateError
from device.records import lifecycle

log = logging.getLogger(__name__)

ACTOR = "sohoa-worker"
PACKAGE_KIND = "aip"  # what the agent sends (TT05 Điều 8.3); a SIP is built on demand (`sohoa package --kind sip`)
_BUILDABLE = frozenset({lifecycle.S.APPROVED, lifecycle.S.SIGNED, lifecycle.S.PACKAGED,
                        lifecycle.S.SENT, lifecycle.S.ACCEPTED, lifecycle.S.REJECTED})


@dataclass(frozen=True)
class PackagingOutcome:
    """What one attempt did: the package id (None when the job had become stale) or an error."""

    package_id: str | None = None
    error: str = ""


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


def _attempt(config: Config, subject: str) -> PackagingOutcome:
    """One attempt, in the packaging thread: its own connection, every error caught and told."""
    dossier_id, version = parse_package_subject(subject)
    try:
        with Box.open(config, migrate=False) as box:
            return PackagingOutcome(package_version(box, dossier_id, version))
    except SohoaError as exc:
        lines = str(exc).strip().splitlines()
        text = f"{type(exc).__name__}: {lines[0] if lines else ''}"
        vi = exc.message_vi or ""  # the clerk reads it on the dossier page; the log keeps the rest
        return PackagingOutcome(error=text if not vi or vi in text else f"{vi} ({text})")
    except Exception as exc:  # noqa: BLE001 - recorded on the job and retried, never fatal to the loop
        log.exception("packaging %s failed unexpectedly", subject)
        return PackagingOutcome(error=f"{type(exc).__name__}: {exc}")


class PackagingRunner:
    """At most one packaging job at a time, in a thread; results recorded by the loop's thread."""

    def __init__(self, box: Box, name: str) -> None:
        self.box, self.name = box, name
        self.lease = box.config.settings.jobs.lease_seconds
        self._job: Job | None = None
        self._thread: threading.Thread | None = None
        self._outcome: PackagingOutcome | None = None
        self._renew_at = 0.0
        self.built = self.failed = self.retried = 0

    @property
    def busy(self) -> bool:
        return self._job is not None

    def poll(self, *, claim: bool = True) -> None:
        """Record the attempt that finished, then (with `claim`) start the next queued job."""
        if self._thread is not None:
            if self._thread.is_alive():
                self._keep_lease()
                return
            self._record()
        if not claim:
            return
        job = claim_next_job(self.box.db, self.name, self.lease, kinds=(PACKAGE_DOSSIER,))
        if job is None:
            return
        log.info("packaging %s (attempt %d of %d)", job.subject, job.attempts, job.max_attempts)
        self._job, self._outcome = job, None
        self._renew_at = time.monotonic() + self.lease / 2
        self._thread = threading.Thread(target=self._run, args=(job.subject,),
                                        name=f"sohoa-package-{job.id}", daemon=True)
        self._thread.start()

    def _keep_lease(self) -> None:
        """A big dossier may take longer than one lease: renew it at half time, so no other
        worker takes the job while this one is still building."""
        if self._job is not None and time.monotonic() >= self._renew_at:
            extend_lease(self.box.db, self._job, self.name, self.lease)
            self._renew_at = time.monotonic() + self.lease / 2

    def _run(self, subject: str) -> None:
        self._outcome = _attempt(self.box.config, subject)

    def wait(self, seconds: float) -> None:
        """Wait up to `seconds` for the attempt in hand to finish."""
        if self._thread is not None:
            self._thread.join(seconds)

    def _record(self) -> None:
        job, outcome = self._job, self._outcome or PackagingOutcome(error="no outcome")
        self._job = self._thread = self._outcome = None
        assert job is not None
        if not outcome.error:
            if finish_job(self.box.db, job, self.name):
                self.built += outcome.package_id is not None
                log.info("packaging %s done: %s", job.subject, outcome.package_id or "stale, nothing built")
            else:
                log.warning("packaging %s: job %d (claim %d) was queued again or taken over while "
                            "it ran; result dropped", job.subject, job.id, job.token)
            return
        dossier_id, version = parse_package_subject(job.subject)
        log.warning("packaging %s failed (attempt %d of %d): %s", job.subject, job.attempts,
                    job.max_attempts, outcome.error)
        with transaction(self.box.db):
            state = fail_job(self.box.db, job, self.name, outcome.error)
            if state == "failed":
                record_event(self.box.db, ACTOR, "dossier.package_failed", "dossier", dossier_id,
                             {"version": version, "reason": outcome.error, "attempts": job.attempts})
        if state == "failed":
            self.failed += 1
        elif state == "queued":
            self.retried += 1
