"""Claim tokens: a job queued again while a claim runs takes no result from that claim, and a
caller's own running claims are not claimed a second time."""

from __future__ import annotations

from device.db import open_database
from device.db.jobs import claim_next_job, enqueue, extend_lease, fail_job, finish_job, job_by_subject

KIND = "process_page"


def _db(tmp_path):
    return open_database(tmp_path / "jobs.db")


def test_a_result_of_a_claim_made_before_a_requeue_is_refused_and_the_job_runs_again(tmp_path):
    db = _db(tmp_path)
    enqueue(db, KIND, "page:1", 3)
    first = claim_next_job(db, "host:1", 60)
    enqueue(db, KIND, "page:1", 3)  # the page was turned while `first` ran
    second = claim_next_job(db, "host:1", 60)  # same worker, same attempt number
    assert (second.id, second.attempts) == (first.id, first.attempts)
    assert second.token != first.token
    assert not finish_job(db, first, "host:1")
    assert fail_job(db, first, "host:1", "boom") is None
    assert not extend_lease(db, first, "host:1", 60)
    row = job_by_subject(db, KIND, "page:1")
    assert (row["state"], row["last_error"]) == ("running", None)  # untouched by the stale claim
    assert finish_job(db, second, "host:1")
    assert job_by_subject(db, KIND, "page:1")["state"] == "done"


def test_a_requeued_job_waits_for_the_result_in_hand_when_excluded(tmp_path):
    db = _db(tmp_path)
    enqueue(db, KIND, "page:1", 3)
    enqueue(db, KIND, "page:2", 3)
    first = claim_next_job(db, "host:1", 60)
    enqueue(db, KIND, "page:1", 3)
    other = claim_next_job(db, "host:1", 60, exclude={first.id})
    assert other.subject == "page:2"
    assert claim_next_job(db, "host:1", 60, exclude={first.id, other.id}) is None
    assert not finish_job(db, first, "host:1")  # the stale result: dropped, the job still queued
    assert job_by_subject(db, KIND, "page:1")["state"] == "queued"
    again = claim_next_job(db, "host:1", 60)
    assert again.subject == "page:1" and finish_job(db, again, "host:1")


def test_a_stale_failure_changes_nothing_and_a_current_one_is_recorded(tmp_path):
    db = _db(tmp_path)
    enqueue(db, KIND, "page:1", 3)
    stale = claim_next_job(db, "host:1", 60)
    enqueue(db, KIND, "page:1", 3)
    current = claim_next_job(db, "host:1", 60)
    assert fail_job(db, stale, "host:1", "stale", backoff_seconds=0) is None
    assert fail_job(db, current, "host:1", "real", backoff_seconds=0) == "queued"
    assert job_by_subject(db, KIND, "page:1")["last_error"] == "real"
