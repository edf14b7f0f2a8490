"""The durable job queue: the database row is the queue, claimed with a lease, retried with a limit."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlite_utils import Database

from device.db.connection import transaction
from device.db.timeutil import now


@dataclass(frozen=True)
class Job:
    """A claimed job: what to do, to what, and which attempt this is."""

    id: int
    kind: str
    subject: str
    attempts: int
    max_attempts: int


def enqueue(db: Database, kind: str, subject: str, max_attempts: int) -> int:
    """Queue (or re-queue, resetting its attempts) the job `kind` on `subject`; returns its id."""
    stamp = now()
    db.conn.execute(
        "INSERT INTO jobs (kind, subject, max_attempts, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, subject) DO UPDATE SET state = 'queued',"
        " attempts = 0, lease_until = NULL, worker = NULL, last_error = NULL,"
        " max_attempts = excluded.max_attempts, updated_at = excluded.updated_at",
        (kind, subject, max_attempts, stamp, stamp))
    return int(db.conn.execute("SELECT id FROM jobs WHERE kind = ? AND subject = ?",
                               (kind, subject)).fetchone()[0])


def claim_next_job(db: Database, worker: str, lease_seconds: float, kinds: tuple[str, ...] = (),
                   clock: float | None = None) -> Job | None:
    """Claim the oldest queued job, or one whose lease ran out (its worker died); None if none.

    A job whose lease ran out with all its attempts used is marked failed instead of claimed.
    """
    at = time.time() if clock is None else clock
    kind_filter = f" AND kind IN ({','.join('?' * len(kinds))})" if kinds else ""
    with transaction(db):
        db.conn.execute(
            "UPDATE jobs SET state = 'failed', last_error = coalesce(last_error, 'lease expired'),"
            " lease_until = NULL, updated_at = ? WHERE state = 'running' AND lease_until < ?"
            " AND attempts >= max_attempts", (now(), at))
        row = db.conn.execute(
            "SELECT id, kind, subject, attempts, max_attempts FROM jobs WHERE (state = 'queued'"
            " OR (state = 'running' AND lease_until < ?))" + kind_filter + " ORDER BY id LIMIT 1",
            (at, *kinds)).fetchone()
        if row is None:
            return None
        db.conn.execute(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?,"
            " worker = ?, updated_at = ? WHERE id = ?", (at + lease_seconds, worker, now(), row[0]))
    return Job(id=row[0], kind=row[1], subject=row[2], attempts=row[3] + 1, max_attempts=row[4])


def finish_job(db: Database, job_id: int) -> None:
    """Mark a claimed job done."""
    with transaction(db):
        db.conn.execute("UPDATE jobs SET state = 'done', lease_until = NULL, last_error = NULL,"
                        " updated_at = ? WHERE id = ?", (now(), job_id))


def fail_job(db: Database, job_id: int, error: str) -> str:
    """Record a failed attempt: back to the queue, or failed for good when attempts are used up.

    Returns the job's new state.
    """
    with transaction(db):
        attempts, max_attempts = db.conn.execute(
            "SELECT attempts, max_attempts FROM jobs WHERE id = ?", (job_id,)).fetchone()
        state = "failed" if attempts >= max_attempts else "queued"
        db.conn.execute("UPDATE jobs SET state = ?, lease_until = NULL, worker = NULL,"
                        " last_error = ?, updated_at = ? WHERE id = ?",
                        (state, error[:2000], now(), job_id))
    return state


def job_counts(db: Database) -> dict[str, int]:
    """How many jobs are in each state."""
    return {state: count for state, count in
            db.conn.execute("SELECT state, count(*) FROM jobs GROUP BY state")}


def job_by_subject(db: Database, kind: str, subject: str) -> dict | None:
    rows = list(db.query("SELECT * FROM jobs WHERE kind = ? AND subject = ?", [kind, subject]))
    return rows[0] if rows else None
