"""Test-only page functions for the worker pool: a page that kills its process, or stalls.

They are passed to `run_once(page_fn=functools.partial(...))`, never switched on by a flag in
the box's own code. A page process imports this module by name, so the test puts the
repository root on `sys.path` first (children inherit the parent's path).
"""

from __future__ import annotations

import os
import signal
import time

from device.worker.tasks import PageTask, process_page


def die_on_page(task: PageTask, *, page_id: int):
    """Process pages normally, except that `page_id` kills its own process (as the OOM killer would)."""
    if task.page_id == page_id:
        os.kill(os.getpid(), signal.SIGKILL)
    return process_page(task)


def stall_on_page(task: PageTask, *, page_id: int, seconds: float):
    """Process pages normally, except that `page_id` hangs for `seconds` first."""
    if task.page_id == page_id:
        time.sleep(seconds)
    return process_page(task)


def kill_self(_argument: object) -> None:
    """A call whose process dies at once, as under the OOM killer."""
    os.kill(os.getpid(), signal.SIGKILL)
