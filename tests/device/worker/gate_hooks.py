"""Test-only page function that holds one page at a gate, so a test can turn it mid-processing.

A page process imports this module by name, so the test puts the repository root on
`sys.path` first (children inherit the parent's path).
"""

from __future__ import annotations

import time
from pathlib import Path

from device.worker.tasks import PageDone, PageTask, process_page

GATE_LIMIT_S = 120.0  # a file never written (a broken test) lets the page through in the end


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + GATE_LIMIT_S
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def hold_page(task: PageTask, *, page_id: int, started: str, gate: str, unturned_done: str) -> PageDone:
    """Process pages normally, except page `page_id`: unturned, it says it started (file
    `started`), waits for the file `gate`, and says when it is done (`unturned_done`); turned,
    it waits until the unturned one is done, so the stale result always comes back first."""
    if task.page_id != page_id:
        return process_page(task)
    if task.turn:
        _wait_for(Path(unturned_done))
        return process_page(task)
    Path(started).touch()
    _wait_for(Path(gate))
    done = process_page(task)
    Path(unturned_done).touch()
    return done
