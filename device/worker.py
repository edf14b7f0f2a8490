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
from device.db.jobs import claim_next_job, fail_job, finish_job
from device.db.pages import mark_page_failed, page_by_id, store_page_text
from device.db.search import index_page_text
from device.errors import InputError, SohoaError
from device.intake import PROCESS_PAGE

log = logging.getLogger(__name__)

PDF_RENDER_DPI = 300
PDF_RENDER_TIMEOUT_S = 120


@dataclass
class RunReport:
    """What one pass over the queue did."""

    processed: int = 0
    failed: int = 0


def page_image(box: Box, page: dict) -> np.ndarray:
    """The page's pixels from its raw blob (one frame of an image, one page of a PDF)."""
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
    while (job := claim_next_job(box.db, name, lease, kinds=(PROCESS_PAGE,))) is not None:
        page_id = int(job.subject.removeprefix("page:"))
        try:
            process_page(box, engine, page_id)
        except (SohoaError, OSError, ValueError, RuntimeError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            log.warning("page %d failed: %s", page_id, reason)
            if fail_job(box.db, job.id, reason) == "failed":
                with transaction(box.db):
                    mark_page_failed(box.db, page_id, reason)
                report.failed += 1
            continue
        finish_job(box.db, job.id)
        report.processed += 1
        log.info("page %d processed", page_id)
    return report


def run_forever(box: Box, engine, poll_seconds: float = 1.0) -> None:
    """Process jobs as they come, polling the queue when it is empty."""
    while True:
        if run_once(box, engine).processed == 0:
            time.sleep(poll_seconds)
