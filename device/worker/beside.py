"""Jobs run beside the page pool, one at a time per kind, in a thread (packaging, USB export):
the claim, its lease kept while the work runs, the result recorded with the claim's token.

Such a job is mostly file I/O, zlib and hashing (C code that releases the GIL), so the loop's
thread keeps turning while it runs. The work gets its own database connection (`Box.open`);
its result is recorded by the loop's thread, and only while the job still carries the claim's
token (`device.db.jobs`): a job queued again or taken over meanwhile drops the result.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlite_utils import Database

from device.box import Box
from device.config import Config
from device.db import transaction
from device.db.jobs import Job, claim_next_job, extend_lease, fail_job, finish_job
from device.errors import SohoaError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What one attempt did: its result (None when there was nothing to do) or an error."""

    result: str | None = None
    error: str = ""


@dataclass(frozen=True)
class SideJob:
    """One kind of job run beside the pages: `attempt(box, subject)` does the work with the
    thread's own box and returns its result; `gave_up(db, job, error)` records, inside the
    transaction that fails the job for good, what the people waiting for it should read."""

    kind: str
    attempt: Callable[[Box, str], str | None]
    gave_up: Callable[[Database, Job, str], None]


def error_text(exc: SohoaError) -> str:
    """The error as recorded on the job: the Vietnamese message first (the clerk reads it in
    the web UI), then the class and the first line of the English one (the log keeps the rest)."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0] if lines else ''}"
    vi = exc.message_vi or ""
    return text if not vi or vi in text else f"{vi} ({text})"


def run_attempt(spec: SideJob, config: Config, subject: str) -> Outcome:
    """One attempt, in the job's thread: its own connection, every error caught and told."""
    try:
        with Box.open(config, migrate=False) as box:
            return Outcome(spec.attempt(box, subject))
    except SohoaError as exc:
        return Outcome(error=error_text(exc))
    except Exception as exc:  # noqa: BLE001 - recorded on the job and retried, never fatal to the loop
        log.exception("%s job %s failed unexpectedly", spec.kind, subject)
        return Outcome(error=f"{type(exc).__name__}: {exc}")


class SideRunner:
    """At most one job of `spec.kind` at a time, in a thread; results recorded by the loop's thread."""

    def __init__(self, box: Box, name: str, spec: SideJob) -> None:
        self.box, self.name, self.spec = box, name, spec
        self.lease = box.config.settings.jobs.lease_seconds
        self._job: Job | None = None
        self._thread: threading.Thread | None = None
        self._outcome: Outcome | None = None
        self._renew_at = 0.0
        self.done = self.failed = self.retried = 0  # `done` counts results that are not None

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
        job = claim_next_job(self.box.db, self.name, self.lease, kinds=(self.spec.kind,))
        if job is None:
            return
        log.info("%s %s (attempt %d of %d)", job.kind, job.subject, job.attempts, job.max_attempts)
        self._job, self._outcome = job, None
        self._renew_at = time.monotonic() + self.lease / 2
        self._thread = threading.Thread(target=self._run, args=(job.subject,),
                                        name=f"sohoa-{job.kind}-{job.id}", daemon=True)
        self._thread.start()

    def _keep_lease(self) -> None:
        """A long job may outlast one lease: renew it at half time, so no other worker takes
        the job while this one still runs it."""
        if self._job is not None and time.monotonic() >= self._renew_at:
            extend_lease(self.box.db, self._job, self.name, self.lease)
            self._renew_at = time.monotonic() + self.lease / 2

    def _run(self, subject: str) -> None:
        self._outcome = run_attempt(self.spec, self.box.config, subject)

    def wait(self, seconds: float) -> None:
        """Wait up to `seconds` for the attempt in hand to finish."""
        if self._thread is not None:
            self._thread.join(seconds)

    def _record(self) -> None:
        job, outcome = self._job, self._outcome or Outcome(error="no outcome")
        self._job = self._thread = self._outcome = None
        assert job is not None
        if not outcome.error:
            if finish_job(self.box.db, job, self.name):
                self.done += outcome.result is not None
                log.info("%s %s done: %s", job.kind, job.subject, outcome.result or "nothing to do")
            else:
                log.warning("%s %s: job %d (claim %d) was queued again or taken over while it "
                            "ran; result dropped", job.kind, job.subject, job.id, job.token)
            return
        log.warning("%s %s failed (attempt %d of %d): %s", job.kind, job.subject, job.attempts,
                    job.max_attempts, outcome.error)
        with transaction(self.box.db):
            state = fail_job(self.box.db, job, self.name, outcome.error)
            if state == "failed":
                self.spec.gave_up(self.box.db, job, outcome.error)
        if state == "failed":
            self.failed += 1
        elif state == "queued":
            self.retried += 1
