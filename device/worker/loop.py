"""The job loop: claims page jobs, runs them in the page pool, records each in one short transaction;
packaging and USB export jobs run beside them, one at a time of each kind (`beside`).

Claims are made only for an idle process, so every claimed job is running, and a page that
overruns `worker.page_timeout_seconds` is stopped before its lease (`jobs.lease_seconds`)
could run out and hand it to someone else. A page's success is one transaction: job done,
page row, search index, audit event; if the job is no longer ours (its lease ran out and it
was claimed again, or it was queued again by a turn, new corners or a retake while its page was
read: its claim token moved on) nothing is written, so each page is recorded once and from its
latest request. A job queued again while its page is still in a process here is not claimed
again until that stale result is back. A failed page is
recorded with its reason and the loop goes on. After a crash, the jobs it held come back
when their lease runs out (`claim_next_job` takes expired leases).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.box import Box
from device.db import transaction
from device.db.events import record_event
from device.db.jobs import PACKAGE_DOSSIER, USB_EXPORT, Job, claim_next_job, fail_job, finish_job, next_retry_at, release_jobs_of_dead_workers
from device.db.pages import finish_page, note_page_error, page_for_processing
from device.catalog.corrections import searchable_text
from device.db.search import index_page_text
from device.errors import ConfigError
from device.intake import PROCESS_PAGE
from device.usb_export import PROC_MOUNTS
from device.worker.packaging import PackagingRunner
from device.worker.pool import InlinePool, PageFailure, PagePool, default_processes
from device.worker.tasks import PageDone, PageTask, process_page
from device.worker.usb_job import usb_export_runner

log = logging.getLogger(__name__)

MAX_WAIT_SECONDS = 60.0  # longest sleep while a failed page waits out its back-off
COLLECT_SECONDS = 1.0  # how long one wait for results lasts before the queue is looked at again
ACTOR = "sohoa-worker"


@dataclass
class RunReport:
    """What the loop did: pages processed, pages failed for good, attempts to be retried."""

    processed: int = 0
    failed: int = 0
    retried: int = 0
    peak_rss_mb: float = 0.0  # the largest peak resident memory of one page process
    packaged: int = 0  # packages built by packaging jobs
    packaging_failed: int = 0  # packaging jobs failed for good
    exported: int = 0  # USB exports done
    export_failed: int = 0  # USB exports failed (one attempt each)


@dataclass(frozen=True)
class _Claimed:
    job: Job
    page_id: int
    shutter_qc: list[dict[str, Any]]


def merge_qc(shutter: list[dict[str, Any]], pipeline: list[dict[str, Any]]) -> dict[str, Any]:
    """One entry per check, keyed by its name: flagged if the shutter or the pipeline flagged
    it (`by` says which); the score of a flagging check, else the pipeline's measurement.
    Only the shutter knows the previous shot (duplicate) and saw the frame uncompressed."""
    merged: dict[str, dict[str, Any]] = {}
    for source, flags in (("shutter", shutter), ("pipeline", pipeline)):
        for flag in flags:
            entry = merged.setdefault(flag["key"], {"flagged": False, "score": flag["score"],
                                                    "reason_key": flag["reason_key"], "by": []})
            if flag["flagged"]:
                if not entry["flagged"]:
                    entry["score"] = flag["score"]
                entry["flagged"] = True
                entry["by"].append(source)
            elif not entry["flagged"]:
                entry["score"] = flag["score"]
    return merged


class _Loop:
    """One worker's claims and results (single writer: only this process writes SQLite)."""

    def __init__(self, box: Box, pool: Any, page_fn: Callable[[PageTask], PageDone],
                 name: str, mount_table: Path = PROC_MOUNTS) -> None:
        self.box, self.pool, self.page_fn, self.name = box, pool, page_fn, name
        self.lease = box.config.settings.jobs.lease_seconds
        self.in_flight: dict[int, _Claimed] = {}
        self.report = RunReport()
        self.packaging = PackagingRunner(box, name)
        self.usb = usb_export_runner(box, name, mount_table)

    def fill(self) -> None:
        """Claim a job for every idle process and start it."""
        while self.pool.idle:
            # A job queued again while its page is in a process here waits for that result
            # (dropped as stale), so one job never has two claims in `in_flight`.
            job = claim_next_job(self.box.db, self.name, self.lease, kinds=(PROCESS_PAGE,),
                                 exclude=self.in_flight)
            if job is None:
                return
            page_id = int(job.subject.removeprefix("page:"))
            page = page_for_processing(self.box.db, page_id)
            if page is None:
                self._failed(_Claimed(job, page_id, []),
                             PageFailure(f"NotFoundError: page {page_id} no longer exists"))
                continue
            self.in_flight[job.id] = _Claimed(job, page_id, list(page["capture_qc"].get("flags", [])))
            self.pool.submit(job.id, self.page_fn, self._task(page))

    def _task(self, page: dict[str, Any]) -> PageTask:
        blobs, storage = self.box.blobs, self.box.config.settings.storage
        return PageTask(page_id=page["id"], raw_sha256=page["raw_sha256"],
                        media_type=page["media_type"], frame=page["frame"], region=page["region"],
                        blob_root=str(blobs.root), min_free_bytes=blobs.min_free_bytes,
                        max_megapixels=storage.max_image_megapixels,
                        turn=int(page.get("rotation") or 0))

    def collect(self, wait_s: float) -> None:
        for key, outcome in self.pool.collect(wait_s):
            claimed = self.in_flight.pop(key, None)
            if claimed is None:  # never expected; a lost result must not stop the loop
                log.error("job %d: a result came back that no claim of %s waits for; dropped",
                          key, self.name)
                continue
            if isinstance(outcome, PageFailure):
                self._failed(claimed, outcome)
            else:
                self._finished(claimed, outcome)

    def _finished(self, claimed: _Claimed, done: PageDone) -> None:
        self.report.peak_rss_mb = max(self.report.peak_rss_mb, done.peak_rss_mb)
        qc = merge_qc(claimed.shutter_qc, done.qc)
        with transaction(self.box.db):
            if not finish_job(self.box.db, claimed.job, self.name):
                log.warning("page %d: job %d (claim %d) was queued again or taken over while "
                            "it ran; stale result dropped, the page is processed again",
                            claimed.page_id, claimed.job.id, claimed.job.token)
                return
            finish_page(self.box.db, claimed.page_id, master_sha256=done.master_sha256,
                        ocr_image_sha256=done.ocr_image_sha256, hocr_sha256=done.words_sha256,
                        dpi=done.dpi, qc_flags=qc, blank=done.blank, text=done.text,
                        confidence=done.confidence, engine=done.engine,
                        model_sha256=done.model_sha256)
            # A clerk's correction still applies when the new OCR is the one it was made on.
            index_page_text(self.box.db, claimed.page_id,
                            searchable_text(self.box, claimed.page_id, done.text, done.words_sha256))
            record_event(self.box.db, ACTOR, "page.process", "page", claimed.page_id,
                         {"master": done.master_sha256, "words": done.words_sha256,
                          "dpi": done.dpi, "blank": done.blank, "engine": done.engine,
                          "flags": sorted(k for k, v in qc.items() if v["flagged"])})
        self.report.processed += 1
        log.info("page %d processed: %d words, %.0f dpi, %.1f s, flags %s", claimed.page_id,
                 done.words, done.dpi, done.timings_ms.get("total", 0.0) / 1000.0,
                 ",".join(k for k, v in qc.items() if v["flagged"]) or "none")

    def _failed(self, claimed: _Claimed, failure: PageFailure) -> None:
        job = claimed.job
        log.warning("page %d failed (attempt %d of %d): %s", claimed.page_id, job.attempts,
                    job.max_attempts, failure.reason)
        with transaction(self.box.db):
            state = fail_job(self.box.db, job, self.name, failure.reason)
            if state == "queued":
                note_page_error(self.box.db, claimed.page_id,
                                f"attempt {job.attempts} of {job.max_attempts}: {failure.reason}")
            elif state == "failed":
                record_event(self.box.db, ACTOR, "page.process_failed", "page", claimed.page_id,
                             {"reason": failure.reason, "attempts": job.attempts})
        if state is None:
            log.warning("page %d: job %d (claim %d) was queued again or taken over while it "
                        "ran; stale failure dropped", claimed.page_id, job.id, job.token)
        elif state == "failed":
            self.report.failed += 1
        else:
            self.report.retried += 1

    def run(self, *, until_empty: bool, stop: Callable[[], bool] = lambda: False,
            tick: Callable[[], None] = lambda: None, poll_seconds: float = 1.0) -> None:
        """Claim, run and record until the queue is empty (`until_empty`) or `stop()` is true
        and the pages in hand are recorded; `tick()` runs at least once a poll interval."""
        while True:
            tick()
            if not stop():
                self.fill()
            for runner in (self.packaging, self.usb):
                runner.poll(claim=not stop())
            self._count_beside()
            if self.in_flight:
                self.collect(COLLECT_SECONDS)
                continue
            busy = [runner for runner in (self.packaging, self.usb) if runner.busy]
            if busy:
                busy[0].wait(COLLECT_SECONDS)
                continue
            if stop():
                return
            if until_empty:
                retry_at = next_retry_at(self.box.db, (PROCESS_PAGE, PACKAGE_DOSSIER, USB_EXPORT))
                if retry_at is None:
                    return
                time.sleep(min(max(retry_at - time.time(), 0.0), MAX_WAIT_SECONDS))
                continue
            time.sleep(poll_seconds)

    def _count_beside(self) -> None:
        self.report.packaged = self.packaging.built
        self.report.packaging_failed = self.packaging.failed
        self.report.exported = self.usb.done
        self.report.export_failed = self.usb.failed


def check_settings(box: Box) -> None:
    """A page must be stopped before its job's lease runs out, or it could run twice."""
    settings = box.config.settings
    if settings.jobs.lease_seconds <= settings.worker.page_timeout_seconds:
        raise ConfigError(
            f"jobs.lease_seconds ({settings.jobs.lease_seconds}) must be longer than "
            f"worker.page_timeout_seconds ({settings.worker.page_timeout_seconds}): a page still "
            "running when its lease ran out would be handed out again")


@contextmanager
def open_pool(box: Box, engine: Any = None, processes: int | None = None):
    """The page pool for `box`: in this process with `engine`, else `processes` children
    (default: `worker.processes`, 0 meaning one per core but one)."""
    if engine is not None:
        with InlinePool(engine) as pool:
            yield pool
        return
    settings = box.config.settings.worker
    count = default_processes(settings.processes if processes is None else processes)
    log.info("starting %d page processes", count)
    with PagePool(count, timeout_s=settings.page_timeout_seconds) as pool:
        yield pool


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    """Whether another process with this pid runs (this one cannot hold jobs yet: after a
    reboot the new worker may well get its dead predecessor's pid)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def release_dead_workers_jobs(box: Box) -> None:
    """Pages a crashed worker of this box held go back to the queue now, not after their lease."""
    released = release_jobs_of_dead_workers(box.db, socket.gethostname(), _pid_alive)
    if released:
        log.info("took back %d page(s) from a worker that died: %s", len(released), ", ".join(released))


def run_once(box: Box, engine: Any = None, *, processes: int | None = None,
             page_fn: Callable[[PageTask], PageDone] = process_page,
             name: str | None = None, mount_table: Path = PROC_MOUNTS) -> RunReport:
    """Process every queued page job, then return. With `engine`, pages are processed in this
    process (no crash isolation); otherwise in a pool of `processes` page processes.
    `page_fn` is what a process does with a page (tests wrap it; it must be picklable);
    `mount_table` lists the plugged drives a USB export may write to (tests give their own)."""
    check_settings(box)
    release_dead_workers_jobs(box)
    with open_pool(box, engine, processes) as pool:
        loop = _Loop(box, pool, page_fn, name or worker_name(), mount_table)
        loop.run(until_empty=True)
    return loop.report


def run_forever(box: Box, *, processes: int | None = None,
                page_fn: Callable[[PageTask], PageDone] = process_page,
                ready: Callable[[], None] = lambda: None,
                alive: Callable[[], None] = lambda: None) -> RunReport:
    """Process jobs as they come until SIGTERM or SIGINT, then finish the pages in hand and
    return. `ready()` is called once the pool runs, `alive()` at least every poll interval."""
    check_settings(box)
    release_dead_workers_jobs(box)
    stopping: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: finishing the pages in hand, then stopping", signum)
        stopping.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with open_pool(box, None, processes) as pool:
            loop = _Loop(box, pool, page_fn, worker_name())
            ready()
            loop.run(until_empty=False, stop=lambda: bool(stopping), tick=alive,
                     poll_seconds=box.config.settings.worker.poll_seconds)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return loop.report
