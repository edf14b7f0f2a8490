"""The durable job queue: the database row is the queue, claimed with a lease, retried with a limit."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from sqlite_utils import Database

from device.backoff import Backoff
from device.db.connection import transaction
from device.db.timeutil import now


PACKAGE_DOSSIER = "package_dossier"  # build the package of an approved dossier version
USB_EXPORT = "usb_export"  # copy the waiting packages to a USB drive (subject: usb:<mount point>)


def package_subject(dossier_id: int, version: int) -> str:
    """A packaging job's subject: the dossier (by id: its code may change) and the version."""
    return f"dossier:{dossier_id}:v{version}"


def parse_package_subject(subject: str) -> tuple[int, int]:
    """(dossier id, version) from a packaging job's subject."""
    _, dossier_id, version = subject.split(":")
    return int(dossier_id), int(version.removeprefix("v"))


@dataclass(frozen=True)
class Job:
    """A claimed job: what to do, to what, which attempt this is, and the claim's token (its
    result counts only while the job still carries that token)."""

    id: int
    kind: str
    subject: str
    attempts: int
    max_attempts: int
    token: int


def enqueue(db: Database, kind: str, subject: str, max_attempts: int) -> int:
    """Queue (or re-queue, resetting its attempts) the job `kind` on `subject`; returns its id.

    Re-queueing bumps the claim token, so a claim still running (a page turned or retaken
    while the worker reads it) can no longer record its now stale result."""
    stamp = now()
    db.conn.execute(
        "INSERT INTO jobs (kind, subject, max_attempts, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, subject) DO UPDATE SET state = 'queued',"
        " attempts = 0, lease_until = NULL, worker = NULL, last_error = NULL, not_before = 0,"
        " claim_token = claim_token + 1, max_attempts = excluded.max_attempts,"
        " updated_at = excluded.updated_at",
        (kind, subject, max_attempts, stamp, stamp))
    return int(db.conn.execute("SELECT id FROM jobs WHERE kind = ? AND subject = ?",
                               (kind, subject)).fetchone()[0])


def claim_next_job(db: Database, worker: str, lease_seconds: float, kinds: tuple[str, ...] = (),
                   clock: float | None = None, exclude: Collection[int] = ()) -> Job | None:
    """Claim the oldest queued job, or one whose lease ran out (its worker died); None if none.

    A job whose lease ran out with all its attempts used is marked failed instead of claimed.
    Jobs in `exclude` (the caller's claims still running) are left for later. Every claim
    bumps the job's claim token, which its result must show (`finish_job`, `fail_job`).
    """
    at = time.time() if clock is None else clock
    kind_filter = f" AND kind IN ({','.join('?' * len(kinds))})" if kinds else ""
    exclude = tuple(exclude)
    kind_filter += f" AND id NOT IN ({','.join('?' * len(exclude))})" if exclude else ""
    with transaction(db):
        expired = db.conn.execute(
            "UPDATE jobs SET state = 'failed', last_error = coalesce(last_error, 'lease expired'),"
            " lease_until = NULL, worker = NULL, updated_at = ? WHERE state = 'running'"
            " AND lease_until < ? AND attempts >= max_attempts RETURNING subject, last_error",
            (now(), at)).fetchall()
        for subject, error in expired:
            _record_page_failure(db, subject, error)
        row = db.conn.execute(
            "SELECT id, kind, subject, attempts, max_attempts, claim_token FROM jobs WHERE"
            " ((state = 'queued' AND not_before <= ?) OR (state = 'running' AND lease_until < ?))"
            + kind_filter + " ORDER BY id LIMIT 1", (at, at, *kinds, *exclude)).fetchone()
        if row is None:
            return None
        db.conn.execute(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?,"
            " worker = ?, claim_token = claim_token + 1, updated_at = ? WHERE id = ?",
            (at + lease_seconds, worker, now(), row[0]))
    return Job(id=row[0], kind=row[1], subject=row[2], attempts=row[3] + 1, max_attempts=row[4],
               token=row[5] + 1)


def extend_lease(db: Database, job: Job, worker: str, lease_seconds: float) -> bool:
    """Keep a long job (a big dossier's package) ours for `lease_seconds` more; False if it is
    no longer held by `worker`."""
    with transaction(db):
        cursor = db.conn.execute(
            "UPDATE jobs SET lease_until = ?, updated_at = ? WHERE id = ? AND worker = ?"
            " AND state = 'running' AND claim_token = ?",
            (time.time() + lease_seconds, now(), job.id, worker, job.token))
    return cursor.rowcount == 1


def release_jobs_of_dead_workers(db: Database, host: str, is_alive: Callable[[int], bool]) -> list[str]:
    """Give back at once the jobs that workers of this host ("host:pid") held when they died,
    instead of leaving them until their lease runs out (minutes after a crash or power cut).
    The attempt stays counted, so a page that kills its worker each time fails in the end.
    Returns the released subjects."""
    released = []
    with transaction(db):
        rows = db.conn.execute("SELECT id, subject, worker, attempts, max_attempts FROM jobs"
                               " WHERE state = 'running' AND worker IS NOT NULL").fetchall()
        for job_id, subject, worker, attempts, max_attempts in rows:
            holder, _, pid = worker.rpartition(":")
            if holder != host or not pid.isdigit() or is_alive(int(pid)):
                continue
            if attempts >= max_attempts:
                db.conn.execute("UPDATE jobs SET state = 'failed', last_error = 'worker died',"
                                " lease_until = NULL, worker = NULL, updated_at = ? WHERE id = ?",
                                (now(), job_id))
                _record_page_failure(db, subject, "worker died")
            else:
                db.conn.execute("UPDATE jobs SET state = 'queued', lease_until = NULL, worker = NULL,"
                                " not_before = 0, updated_at = ? WHERE id = ?", (now(), job_id))
            released.append(subject)
    return released


def _record_page_failure(db: Database, subject: str, error: str | None) -> None:
    """A page whose job failed for good says so (its pixels are kept)."""
    if subject.startswith("page:"):
        db.conn.execute("UPDATE pages SET state = 'failed', error = ?, updated_at = ? WHERE id = ?",
                        (error or "failed", now(), int(subject.removeprefix("page:"))))


def finish_job(db: Database, job: Job, worker: str) -> bool:
    """Mark a claimed job done; False (and nothing changed) if this claim no longer holds it,
    because its lease ran out and it was claimed again, or it was queued again (its token
    moved on: the result is stale and the job runs again from the new request)."""
    with transaction(db):
        cursor = db.conn.execute(
            "UPDATE jobs SET state = 'done', lease_until = NULL, last_error = NULL, updated_at = ?"
            " WHERE id = ? AND worker = ? AND state = 'running' AND claim_token = ?",
            (now(), job.id, worker, job.token))
    return cursor.rowcount == 1


# The longest wait before a retry: a failure that may pass (memory, a busy disk) has passed by
# then, and a page must not sit for hours because its job allows many attempts.
RETRY_MAX_SECONDS = 600.0


def fail_job(db: Database, job: Job, worker: str, error: str, *, backoff_seconds: float = 2.0,
             clock: float | None = None) -> str | None:
    """Record a failed attempt: back to the queue after an exponential, jittered delay, or
    failed for good (the page marked failed) when attempts are used up.

    Returns the job's new state, or None if this claim no longer holds the job (see
    `finish_job`): nothing is changed then.
    """
    at = time.time() if clock is None else clock
    state = "failed" if job.attempts >= job.max_attempts else "queued"
    # The agent's formula (device/backoff.py), from `backoff_seconds` up to RETRY_MAX_SECONDS.
    delay = Backoff(backoff_seconds, max(backoff_seconds, RETRY_MAX_SECONDS)).delay(job.attempts)
    with transaction(db):
        cursor = db.conn.execute(
            "UPDATE jobs SET state = ?, lease_until = NULL, worker = NULL, last_error = ?,"
            " not_before = ?, updated_at = ? WHERE id = ? AND worker = ? AND state = 'running'"
            " AND claim_token = ?", (state, error[:2000], at + delay, now(), job.id, worker,
                                     job.token))
        if cursor.rowcount != 1:
            return None
        if state == "failed":
            _record_page_failure(db, job.subject, error[:2000])
    return state


def next_retry_at(db: Database, kinds: tuple[str, ...] = ()) -> float | None:
    """When the earliest job waiting out a back-off may run, or None if none is waiting."""
    kind_filter = f" AND kind IN ({','.join('?' * len(kinds))})" if kinds else ""
    row = db.conn.execute("SELECT min(not_before) FROM jobs WHERE state = 'queued'" + kind_filter,
                          kinds).fetchone()
    return row[0]


def job_counts(db: Database) -> dict[str, int]:
    """How many jobs are in each state."""
    return {state: count for state, count in
            db.conn.execute("SELECT state, count(*) FROM jobs GROUP BY state")}


def job_by_subject(db: Database, kind: str, subject: str) -> dict | None:
    rows = list(db.query("SELECT * FROM jobs WHERE kind = ? AND subject = ?", [kind, subject]))
    return rows[0] if rows else None
