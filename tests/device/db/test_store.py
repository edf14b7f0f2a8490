"""The database: migrations from empty, search with and without tone marks, the job queue, the
audit trail, and page/sheet counts of a two-page capture."""

from __future__ import annotations

import sqlite3

import pytest

from device.db import open_database, transaction
from device.db.events import events_for, record_event
from device.db.jobs import (
    RETRY_MAX_SECONDS,
    claim_next_job,
    enqueue,
    fail_job,
    finish_job,
    job_by_subject,
    next_retry_at,
    release_jobs_of_dead_workers,
)
from device.db.migrations import MIGRATIONS
from device.db.pages import NewPage, add_pages, dossier_counts, record_capture
from device.db.records import documents_of
from device.db.search import index_page_text, search_pages
from device.records.sheets import spread_sides


def test_migrations_build_the_schema_from_empty_once(tmp_path):
    db = open_database(tmp_path / "x.db")
    names = [row["name"] for row in db.query("SELECT name FROM migrations ORDER BY name")]
    assert names == [name for name, _ in MIGRATIONS]
    assert {"fonds", "dossiers", "documents", "captures", "pages", "jobs", "events", "users",
            "page_text"} <= set(db.table_names())
    db.conn.close()
    again = open_database(tmp_path / "x.db")
    assert again.conn.execute("SELECT count(*) FROM migrations").fetchone()[0] == len(MIGRATIONS)


def test_the_connection_is_durable_and_checked(tmp_path):
    db = open_database(tmp_path / "x.db")
    pragma = lambda name: db.conn.execute(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
    assert pragma("journal_mode") == "wal"
    assert pragma("synchronous") == 2  # FULL
    assert pragma("foreign_keys") == 1
    with pytest.raises(sqlite3.IntegrityError):
        db.conn.execute("INSERT INTO documents (dossier_id, seq, created_at, updated_at)"
                        " VALUES (999, 1, 'x', 'x')")


def _page_with_text(box, dossier_code, text):
    from device.catalog.documents import new_document
    from device.catalog.dossiers import load

    with transaction(box.db):
        dossier = load(box, dossier_code)
        document_id, _ = new_document(box, dossier, actor="test")
        capture = record_capture(box.db, raw_sha256="0" * 64, media_type="image/png",
                                 source="test", dossier_id=dossier["id"])
        [page_id] = add_pages(box.db, document_id, capture, [NewPage()])
        index_page_text(box.db, page_id, text)
    return page_id


@pytest.mark.parametrize(("query", "found"), [
    ("quyet dinh", True), ("quyết định", True), ("QUYẾT ĐỊNH", True), ("Quyet Dinh", True),
    ("dong nai", True), ("Đồng Nai", True), ("dồng nài", True), ("nghi quyet", False),
    ("", False), ('"', False),
])
def test_search_is_accent_insensitive_and_folds_d(box, dossier_code, query, found):
    page = _page_with_text(box, dossier_code, "Quyết định thành lập xã thuộc tỉnh Đồng Nai")
    hits = search_pages(box.db, query)
    assert ([hit["page_id"] for hit in hits] == [page]) is found


def test_search_puts_exact_tone_marks_first_and_marks_the_match(box, dossier_code):
    wrong = _page_with_text(box, dossier_code, "bổ sung ngân sách")
    right = _page_with_text(box, dossier_code, "bồ sung ngân sách")
    assert [hit["page_id"] for hit in search_pages(box.db, "bồ")] == [right, wrong]
    assert {hit["page_id"] for hit in search_pages(box.db, "bo")} == {right, wrong}
    assert "[bổ]" in search_pages(box.db, "bo sung")[-1]["snippet"] or \
        "[bổ]" in search_pages(box.db, "bo sung")[0]["snippet"]


def test_reindexing_a_page_replaces_its_text(box, dossier_code):
    page = _page_with_text(box, dossier_code, "công văn")
    with transaction(box.db):
        index_page_text(box.db, page, "tờ trình")
    assert search_pages(box.db, "cong van") == []
    assert [hit["page_id"] for hit in search_pages(box.db, "to trinh")] == [page]


def test_a_claimed_job_is_leased_and_returns_when_the_lease_runs_out(box):
    enqueue(box.db, "process_page", "page:1", max_attempts=3)
    first = claim_next_job(box.db, "w1", lease_seconds=60, clock=1000.0)
    assert first and first.attempts == 1
    assert claim_next_job(box.db, "w2", lease_seconds=60, clock=1030.0) is None  # still leased
    second = claim_next_job(box.db, "w2", lease_seconds=60, clock=1061.0)  # w1 died
    assert second and second.id == first.id and second.attempts == 2
    assert not finish_job(box.db, first, "w1")  # w1 lost its lease: its late answer is ignored
    assert finish_job(box.db, second, "w2")
    assert claim_next_job(box.db, "w3", lease_seconds=60, clock=9999.0) is None
    assert job_by_subject(box.db, "process_page", "page:1")["state"] == "done"


def test_jobs_of_a_dead_worker_of_this_host_return_at_once_and_no_others(box):
    for page in (1, 2, 3, 4):
        enqueue(box.db, "process_page", f"page:{page}", max_attempts=1 if page == 4 else 3)
    dead = claim_next_job(box.db, "box:41", lease_seconds=600, clock=1000.0)
    alive = claim_next_job(box.db, "box:42", lease_seconds=600, clock=1000.0)
    elsewhere = claim_next_job(box.db, "other-box:41", lease_seconds=600, clock=1000.0)
    last_try = claim_next_job(box.db, "box:41", lease_seconds=600, clock=1000.0)
    released = release_jobs_of_dead_workers(box.db, "box", is_alive=lambda pid: pid == 42)
    assert sorted(released) == [dead.subject, last_try.subject]
    again = claim_next_job(box.db, "box:43", lease_seconds=600, clock=1001.0)  # long before the lease
    assert again.id == dead.id and again.attempts == 2  # the attempt that died still counts
    assert job_by_subject(box.db, "process_page", alive.subject)["state"] == "running"
    assert job_by_subject(box.db, "process_page", elsewhere.subject)["worker"] == "other-box:41"
    assert job_by_subject(box.db, "process_page", last_try.subject)["state"] == "failed"


def test_a_failing_job_is_retried_up_to_its_limit_and_keeps_its_error(box):
    enqueue(box.db, "process_page", "page:7", max_attempts=2)
    job = claim_next_job(box.db, "w", lease_seconds=60, clock=0.0)
    assert fail_job(box.db, job, "w", "tesseract crashed", clock=0.0) == "queued"
    # The retry waits out a back-off (2 s × jitter 0.5–1 for the first failure).
    assert claim_next_job(box.db, "w", lease_seconds=60, clock=0.9) is None
    assert 1.0 <= next_retry_at(box.db) <= 3.0
    job = claim_next_job(box.db, "w", lease_seconds=60, clock=3.1)
    assert job.attempts == 2
    assert fail_job(box.db, job, "w", "tesseract crashed again", clock=3.1) == "failed"
    assert claim_next_job(box.db, "w", lease_seconds=60, clock=1e9) is None
    assert next_retry_at(box.db) is None
    row = job_by_subject(box.db, "process_page", "page:7")
    assert (row["state"], row["last_error"]) == ("failed", "tesseract crashed again")


def test_a_job_allowed_many_attempts_waits_no_longer_than_the_retry_cap(box):
    enqueue(box.db, "process_page", "page:8", max_attempts=60)
    box.db.conn.execute("UPDATE jobs SET attempts = 40")  # forty failures already
    job = claim_next_job(box.db, "w", lease_seconds=60, clock=0.0)
    assert fail_job(box.db, job, "w", "out of memory", clock=0.0) == "queued"
    # Doubling without a cap would wait 2 s × 2⁴⁰, some seventy thousand years.
    assert RETRY_MAX_SECONDS / 2 <= next_retry_at(box.db) <= RETRY_MAX_SECONDS


def test_a_job_whose_worker_died_on_its_last_attempt_fails_and_so_does_its_page(
        box, dossier_code):
    page = _page_with_text(box, dossier_code, "")
    enqueue(box.db, "process_page", f"page:{page}", max_attempts=1)
    claim_next_job(box.db, "w", lease_seconds=10, clock=0.0)
    assert claim_next_job(box.db, "w", lease_seconds=10, clock=100.0) is None
    assert job_by_subject(box.db, "process_page", f"page:{page}")["state"] == "failed"
    row = next(box.db.query("SELECT state, error FROM pages WHERE id = ?", [page]))
    assert row == {"state": "failed", "error": "lease expired"}


def test_a_requeued_job_is_not_finished_by_the_worker_that_held_it(box):
    enqueue(box.db, "process_page", "page:5", max_attempts=3)
    held = claim_next_job(box.db, "w1", 60)
    enqueue(box.db, "process_page", "page:5", max_attempts=3)  # e.g. corners fixed meanwhile
    assert not finish_job(box.db, held, "w1")
    assert fail_job(box.db, held, "w1", "late") is None
    assert job_by_subject(box.db, "process_page", "page:5")["state"] == "queued"


def test_a_failed_commit_does_not_leave_the_connection_in_a_transaction(tmp_path):
    from device.errors import StorageError

    db = open_database(tmp_path / "x.db")
    db.conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    db.conn.execute("CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES"
                    " parent(id) DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(StorageError, match="commit failed"):
        with transaction(db):
            db.conn.execute("INSERT INTO child VALUES (1, 99)")  # fails only at COMMIT
    assert not db.conn.in_transaction
    with transaction(db):
        db.conn.execute("INSERT INTO parent VALUES (1)")
    other = sqlite3.connect(tmp_path / "x.db")
    assert other.execute("SELECT count(*) FROM parent").fetchone()[0] == 1


def test_requeueing_a_done_job_resets_it(box):
    enqueue(box.db, "process_page", "page:3", max_attempts=3)
    finish_job(box.db, claim_next_job(box.db, "w", 60), "w")
    enqueue(box.db, "process_page", "page:3", max_attempts=3)
    assert claim_next_job(box.db, "w", 60).attempts == 1


def test_the_audit_trail_is_append_only(box):
    with transaction(box.db):
        event = record_event(box.db, "alice", "dossier.update", "dossier", 1, {"a": 1})
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        box.db.conn.execute("UPDATE events SET actor = 'mallory' WHERE id = ?", (event,))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        box.db.conn.execute("DELETE FROM events WHERE id = ?", (event,))
    assert events_for(box.db, "dossier", 1)[-1]["actor"] == "alice"


def test_a_two_page_capture_counts_two_pages_on_two_sheets(box, dossier_code):
    from device.catalog.documents import new_document
    from device.catalog.dossiers import load

    with transaction(box.db):
        dossier = load(box, dossier_code)
        document_id, _ = new_document(box, dossier, actor="test")
        capture = record_capture(box.db, raw_sha256="1" * 64, media_type="image/jpeg",
                                 source="camera", dossier_id=dossier["id"])
        add_pages(box.db, document_id, capture,
                  [NewPage(side=side, region=[[0, 0], [1, 0], [1, 1], [0, 1]])
                   for side in spread_sides(2)])
        single = record_capture(box.db, raw_sha256="2" * 64, media_type="image/jpeg",
                                source="camera", dossier_id=dossier["id"])
        add_pages(box.db, document_id, single, [NewPage(side="verso")])
    assert dossier_counts(box.db, dossier["id"]) == {"totalDoc": 1, "numberOfPage": 3,
                                                     "numberOfPaper": 2}
    [document] = documents_of(box.db, dossier["id"])
    assert (document["page_count"], document["sheet_count"]) == (3, 2)


def test_the_snippet_shows_the_words_where_they_stand_together(box, dossier_code):
    text = "xã hội " + "chữ " * 40 + "Quốc hội ban hành luật"
    _page_with_text(box, dossier_code, text)
    [hit] = search_pages(box.db, "quoc hoi")
    assert "[Quốc] [hội]" in hit["snippet"]


def test_appending_pages_numbers_sheets_as_a_full_renumbering_would(box, dossier_code):
    from device.catalog.documents import new_document
    from device.catalog.dossiers import load
    from device.db.pages import renumber_sheets

    with transaction(box.db):
        dossier = load(box, dossier_code)
        document_id, _ = new_document(box, dossier, actor="test")
        capture = record_capture(box.db, raw_sha256="3" * 64, media_type="image/jpeg",
                                 source="camera", dossier_id=dossier["id"])
        for sides in (["verso"], ["recto"], ["verso", "recto"], ["verso"], ["recto", "recto"]):
            add_pages(box.db, document_id, capture, [NewPage(side=side) for side in sides])
    appended = [row[0] for row in box.db.conn.execute(
        "SELECT sheet FROM pages WHERE document_id = ? ORDER BY position", (document_id,))]
    with transaction(box.db):
        renumber_sheets(box.db, document_id)
    renumbered = [row[0] for row in box.db.conn.execute(
        "SELECT sheet FROM pages WHERE document_id = ? ORDER BY position", (document_id,))]
    assert appended == renumbered == [1, 2, 2, 3, 3, 4, 5]
