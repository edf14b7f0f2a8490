"""A page turned while a page process reads it: the stale result is dropped, nothing is left
behind in the pool, and the page ends processed with the turn (real pool, real Tesseract)."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import pytest
from PIL import Image

from device.catalog.pages import rotate_page
from device.db.events import events_for
from device.db.jobs import job_by_subject
from device.db.pages import page_by_id
from device.intake import PROCESS_PAGE, import_files
from device.worker.loop import _Loop, open_pool
from tests.conftest import REPO_ROOT


@pytest.fixture
def hooks(monkeypatch):
    """The test-only page function, importable by the page processes."""
    monkeypatch.syspath_prepend(str(REPO_ROOT))
    from tests.device.worker import gate_hooks

    return gate_hooks


def _wait_for_file(path: Path, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


def test_a_turn_made_while_the_page_is_processed_is_not_lost(box, dossier_code, tmp_path, hooks):
    photo = tmp_path / "page.png"
    Image.new("RGB", (800, 1130), "white").save(photo)  # its master is the whole 800x1130 frame
    page_id = import_files(box, dossier_code, [photo], actor="test").pages[0]["id"]
    started = tmp_path / "started"
    page_fn = functools.partial(hooks.hold_page, page_id=page_id, started=str(started),
                                gate=str(tmp_path / "gate"),
                                unturned_done=str(tmp_path / "unturned_done"))
    with open_pool(box, processes=2) as pool:
        loop = _Loop(box, pool, page_fn, "test-host:1")
        loop.fill()
        _wait_for_file(started)  # the unturned page is in a process now
        rotate_page(box, page_id, 90, actor="web:an")
        loop.fill()  # a slot is idle: the job queued again must not get a second claim here
        (tmp_path / "gate").touch()
        loop.run(until_empty=True)  # the unturned result is dropped, the page processed again
        assert pool.busy == 0  # no result left behind for a later collect to trip on
    page = page_by_id(box.db, page_id)
    assert (page["state"], page["rotation"]) == ("processed", 90)
    with Image.open(box.blobs.path(page["master_sha256"])) as master:
        assert master.size == (1130, 800)  # turned, not the unturned master of the first claim
    assert job_by_subject(box.db, PROCESS_PAGE, f"page:{page_id}")["state"] == "done"
    assert loop.report.processed == 1  # the first claim's result was not recorded
    assert [e["action"] for e in events_for(box.db, "page")][-2:] == ["page.rotate", "page.process"]
