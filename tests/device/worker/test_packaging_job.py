"""Approval queues a packaging job that the worker runs: the package is built and the outbox
takes it; a dossier reopened before the job runs gets no package; a failing build is retried
and shown; approval waits until every page has been read."""

from __future__ import annotations

import time

import pytest

from device.catalog.documents import set_document_fields
from device.catalog.dossiers import approve, load, move, packaging_status, set_dossier_fields
from device.db.events import events_for
from device.db.jobs import (
    PACKAGE_DOSSIER, claim_next_job, enqueue, extend_lease, fail_job, job_by_subject,
    package_subject,
)
from device.db.outbox import queue_built_packages
from device.db.packages import package_for_version
from device.db.pages import page_by_id
from device.errors import ValidationError
from device.intake import PROCESS_PAGE, import_files
from device.ocr.engine import OcrEngine
from device.worker import run_once
from device.worker.packaging import PackagingRunner

COMPLETE_DOSSIER = {"endDate": "2002", "format": "01", "paperFileCode": "G09.K1-G2-H3.160"}
COMPLETE_DOCUMENT = {"typeName": "02", "issuedDate": "15/09/2001", "organName": "UBND xã Thử",
                     "subject": "Về việc thành lập tổ dân phố", "codeNumber": "12",
                     "codeNotation": "QĐ-UBND"}


@pytest.fixture(scope="module")
def engine():
    with OcrEngine() as loaded:
        yield loaded


def described(box, code, page_png) -> int:
    """The dossier with one imported page (not read yet) and every required field; its page id."""
    page_id = import_files(box, code, [page_png], actor="lan").pages[0]["id"]
    set_dossier_fields(box, code, COMPLETE_DOSSIER, actor="lan")
    set_document_fields(box, f"{code}.1", COMPLETE_DOCUMENT, actor="lan")
    return page_id


def job_of(box, code) -> dict | None:
    dossier = load(box, code)
    return job_by_subject(box.db, PACKAGE_DOSSIER, package_subject(dossier["id"], dossier["version"]))


def approved(box, code, page_png, engine) -> int:
    """Read by the real worker (real Tesseract), then approved by a reviewer; the page id."""
    page_id = described(box, code, page_png)
    report = run_once(box, engine)
    assert (report.processed, report.failed, report.packaged) == (1, 0, 0)
    assert approve(box, code, actor="minh") == "approved"
    return page_id


def test_approval_is_refused_while_a_page_is_unread_or_failed(box, dossier_code, page_png):
    page_id = described(box, dossier_code, page_png)
    with pytest.raises(ValidationError) as refused:
        approve(box, dossier_code, actor="minh")
    problems = [(p.label_vi, p.problem_vi) for p in refused.value.problems]
    assert problems == [(f"Tài liệu {dossier_code}.1 – trang 1",
                         "chưa xử lý xong (hãy chờ máy đọc xong rồi duyệt)")]
    assert load(box, dossier_code)["state"] == "draft" and job_of(box, dossier_code) is None
    # The worker gives the page up for good (its one attempt failed): still refused, saying so.
    enqueue(box.db, PROCESS_PAGE, f"page:{page_id}", 1)
    job = claim_next_job(box.db, "test:1", 60.0, kinds=(PROCESS_PAGE,))
    assert fail_job(box.db, job, "test:1", "InputError: damaged") == "failed"
    assert page_by_id(box.db, page_id)["state"] == "failed"
    with pytest.raises(ValidationError) as refused:
        approve(box, dossier_code, actor="minh")
    assert [p.problem_vi for p in refused.value.problems] == [
        "xử lý bị lỗi (hãy chụp lại hoặc xóa trang này)"]
    assert load(box, dossier_code)["state"] == "draft"


def test_approval_queues_a_package_the_worker_builds_and_the_outbox_takes(
        box, dossier_code, page_png, engine):
    approved(box, dossier_code, page_png, engine)
    assert job_of(box, dossier_code)["state"] == "queued"
    assert packaging_status(box, load(box, dossier_code))["state"] == "pending"
    report = run_once(box, engine)
    assert (report.processed, report.packaged, report.packaging_failed) == (0, 1, 0)
    dossier = load(box, dossier_code)
    assert dossier["state"] == "packaged"
    package = package_for_version(box.db, dossier["id"], dossier["version"], "aip")
    assert (box.config.paths.data_dir / package["relpath"]).is_file()
    assert job_of(box, dossier_code)["state"] == "done"
    assert packaging_status(box, dossier) is None
    built = [e for e in events_for(box.db, "dossier") if e["action"] == "dossier.package"]
    assert [e["actor"] for e in built] == ["sohoa-worker"]
    assert queue_built_packages(box.db, str(box.config.paths.data_dir)) == 1  # the agent's sweep
    assert run_once(box, engine).packaged == 0  # nothing left to do


def test_a_dossier_reopened_before_the_job_runs_gets_no_package(box, dossier_code, page_png,
                                                                engine):
    approved(box, dossier_code, page_png, engine)
    stale = job_of(box, dossier_code)
    move(box, dossier_code, "reopen", actor="minh")
    report = run_once(box, engine)
    assert (report.packaged, report.packaging_failed) == (0, 0)
    dossier = load(box, dossier_code)
    assert (dossier["state"], dossier["version"]) == ("draft", 2)
    assert box.db.conn.execute("SELECT count(*) FROM packages").fetchone()[0] == 0
    assert job_by_subject(box.db, PACKAGE_DOSSIER, stale["subject"])["state"] == "done"
    assert packaging_status(box, dossier) is None  # the new draft has no job


def test_a_failing_build_is_retried_and_shown_until_it_gives_up(box, dossier_code, page_png,
                                                                engine):
    page_id = approved(box, dossier_code, page_png, engine)
    box.blobs.path(page_by_id(box.db, page_id)["master_sha256"]).unlink()  # a lost master
    runner = PackagingRunner(box, "test:1")
    runner.poll()
    runner.wait(120)
    runner.poll(claim=False)  # records the first attempt
    status = packaging_status(box, load(box, dossier_code))
    assert (status["state"], status["attempts"]) == ("retrying", 1)
    assert status["error"]
    report = run_once(box, engine)  # waits out the back-off, tries until attempts run out
    assert (report.packaged, report.packaging_failed) == (0, 1)
    dossier = load(box, dossier_code)
    status = packaging_status(box, dossier)
    assert status["state"] == "failed"
    assert status["attempts"] == status["maxAttempts"] == box.config.settings.jobs.max_attempts
    assert dossier["state"] == "approved"
    assert box.db.conn.execute("SELECT count(*) FROM packages").fetchone()[0] == 0
    failed = [e for e in events_for(box.db, "dossier") if e["action"] == "dossier.package_failed"]
    assert len(failed) == 1 and failed[0]["details"]["reason"] == status["error"]


def test_a_long_build_keeps_its_job_only_for_the_worker_holding_it(box):
    enqueue(box.db, PACKAGE_DOSSIER, package_subject(1, 1), 3)
    job = claim_next_job(box.db, "host:1", 30.0, kinds=(PACKAGE_DOSSIER,))
    first = job_by_subject(box.db, PACKAGE_DOSSIER, job.subject)["lease_until"]
    assert extend_lease(box.db, job, "host:1", 600.0)
    assert job_by_subject(box.db, PACKAGE_DOSSIER, job.subject)["lease_until"] > first + 500
    assert not extend_lease(box.db, job, "host:2", 600.0)  # another worker's claim is not ours


def test_a_dossier_reopened_while_its_package_is_built_gets_none_and_no_failure(
        box, dossier_code, page_png, engine):
    from device.db import transaction

    approved(box, dossier_code, page_png, engine)
    stale = job_of(box, dossier_code)
    runner = PackagingRunner(box, "test:1")
    outbox = box.config.paths.outbox
    # Holding the write lock, the build can run but not freeze its package until we let it.
    with transaction(box.db):
        runner.poll()
        deadline = time.monotonic() + 120
        while not list(outbox.glob(".staging-*/package.zip")):  # built, about to freeze
            assert time.monotonic() < deadline, "the package was never staged"
            time.sleep(0.05)
        move(box, dossier_code, "reopen", actor="minh")
    runner.wait(120)
    runner.poll(claim=False)
    assert (runner.built, runner.failed, runner.retried) == (0, 0, 0)
    row = job_by_subject(box.db, PACKAGE_DOSSIER, stale["subject"])
    assert (row["state"], row["last_error"]) == ("done", None)  # stale, not a failed attempt
    assert box.db.conn.execute("SELECT count(*) FROM packages").fetchone()[0] == 0
    dossier = load(box, dossier_code)
    assert (dossier["state"], dossier["version"]) == ("draft", 2)
