"""The job loop: claims page jobs from the database, reads each page, OCRs and indexes it.

This first version runs in one process and OCRs the page as imported; the cleanup stages
(page detection, rectification, masters, PDF pages) and the process pool come with the
processing pipeline. A page that fails is recorded with its reason and the loop moves on.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass

import numpy as np
from PIL import Image

from device.box import Box
from device.db import transaction
from device.db.jobs import claim_next_job, fail_job, finish_job, next_retry_at
from device.db.pages import page_by_id, store_page_text
from device.db.search import index_page_text
from device.errors import InputError
from device.intake import PDF_RENDER_DPI, PROCESS_PAGE, apply_pixel_limit

log = logging.getLogger(__name__)

PDF_RENDER_TIMEOUT_S = 120
MAX_WAIT_SECONDS = 60.0  # longest sleep while a failed page waits out its back-off


@dataclass
class RunReport:
    """What one pass over the queue did."""

    processed: int = 0
    failed: int = 0


def page_image(box: Box, page: dict) -> np.ndarray:
    """The page's pixels from its raw blob (one frame of an image, one page of a PDF)."""
    apply_pixel_limit(box.config.settings.storage)
    data = box.blobs.read(page["raw_sha256"], verify=True)
    if page["media_type"] == "application/pdf":
        return _render_pdf_page(data, page["frame"])
    with Image.open(io.BytesIO(data)) as image:
        image.seek(page["frame"])
        return np.asarray(image.convert("RGB"))[:, :, ::-1].copy()


def _render_pdf_page(data: bytes, frame: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, "in.pdf")
        with open(source, "wb") as handle:
            handle.write(data)
        try:
            result = subprocess.run(
                ["pdftoppm", "-r", str(PDF_RENDER_DPI), "-gray", "-png", "-f", str(frame + 1),
                 "-l", str(frame + 1), "-singlefile", source, os.path.join(folder, "out")],
                capture_output=True, timeout=PDF_RENDER_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InputError(f"cannot render PDF page {frame + 1}: {exc}") from None
        if result.returncode != 0:
            raise InputError(f"cannot render PDF page {frame + 1}: "
                             f"{result.stderr.decode(errors='replace').strip()[:200]}")
        with Image.open(os.path.join(folder, "out.png")) as image:
            return np.asarray(image.convert("L")).copy()


def process_page(box: Box, engine, page_id: int) -> None:
    """OCR one page and put its text in the search index."""
    page = page_by_id(box.db, page_id)
    if page is None:
        raise InputError(f"page {page_id} no longer exists")
    result = engine.recognize(page_image(box, page))
    models = ",".join(f"{lang}:{sha}" for lang, sha in sorted(result.model_sha256.items()))
    with transaction(box.db):
        store_page_text(box.db, page_id, text=result.text, confidence=result.mean_confidence,
                        engine=f"{result.engine} {result.engine_version} {result.languages}",
                        model_sha256=models)
        index_page_text(box.db, page_id, result.text)


def run_once(box: Box, engine, worker_name: str | None = None) -> RunReport:
    """Process every queued page job, then return."""
    name = worker_name or f"worker-{os.getpid()}"
    lease = box.config.settings.jobs.lease_seconds
    report = RunReport()
    while True:
        job = claim_next_job(box.db, name, lease, kinds=(PROCESS_PAGE,))
        if job is None:
            retry_at = next_retry_at(box.db, (PROCESS_PAGE,))
            if retry_at is None:
                return report
            time.sleep(min(max(retry_at - time.time(), 0.0), MAX_WAIT_SECONDS))
            continue
        page_id = int(job.subject.removeprefix("page:"))
        try:
            process_page(box, engine, page_id)
        except Exception as exc:  # noqa: BLE001 - one page's failure is recorded, never fatal
            reason = f"{type(exc).__name__}: {exc}"
            log.warning("page %d failed (attempt %d of %d): %s", page_id, job.attempts,
                        job.max_attempts, reason)
            if fail_job(box.db, job, name, reason) == "failed":
                report.failed += 1
            continue
        if finish_job(box.db, job, name):
            report.processed += 1
            log.info("page %d processed", page_id)


def run_forever(box: Box, engine, poll_seconds: float = 1.0) -> None:
    """Process jobs as they come, polling the queue when it is empty."""
    while True:
        if run_once(box, engine).processed == 0:
            time.sleep(poll_seconds)
