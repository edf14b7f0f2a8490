"""The processing worker: a job loop over a pool of page processes (see `loop`, `pool`, `tasks`).

    source.py      raw bytes → pixels (image frames, PDF pages at 300 dpi); shared with `sohoa process`
    pool.py        page processes, one OCR engine each; a dead or stuck one costs only its page
    tasks.py       one page in a process: pipeline, then master, OCR image and word boxes as blobs
    word_boxes.py  the stored word-box format (the page's `hocr_sha256`)
    loop.py        claims jobs, runs them in the pool, records each page in one transaction
    packaging.py   packaging jobs of approved dossiers, one at a time in a thread beside the pool
"""

from typing import Any

__all__ = ["RunReport", "run_forever", "run_once"]


def __getattr__(name: str) -> Any:
    # The loop is imported on first use, so that reading stored word boxes (the PDF builder)
    # does not load the pipeline and the job queue.
    if name in __all__:
        from device.worker import loop

        return getattr(loop, name)
    raise AttributeError(f"module 'device.worker' has no attribute {name!r}")
