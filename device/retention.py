"""Deleting raw captures once the archive holds their dossier: who may go, and doing it safely.

A raw capture is the camera's or scanner's original file. It stays on the box until the
provincial archive has accepted, with a verified receipt, the package of the dossier's current
version, and the configured delay (`agent.retention_days`) has passed; by default never. The
page masters (which the packages' PDFs carry) and the text stay: the dossier can still be
shown, searched and packaged again; only reprocessing a page from its original is no longer
possible (a retake makes a new original).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from device.box import Box
from device.db.connection import transaction
from device.db.events import record_event
from device.db.timeutil import now

log = logging.getLogger(__name__)


def deletable_raw_captures(box: Box, dossier_ids: Iterable[int]) -> dict[str, list[int]]:
    """{raw SHA-256: capture ids} of the raw captures that may go when the dossiers
    `dossier_ids` are archived: a blob shared with a capture of any other dossier (the same
    bytes taken twice) stays."""
    wanted = sorted(set(dossier_ids))
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    rows = box.db.conn.execute(
        f"SELECT c.raw_sha256, c.id, c.dossier_id IN ({marks}) FROM captures c"
        " WHERE c.raw_deleted_at IS NULL AND c.raw_sha256 IN"
        f" (SELECT raw_sha256 FROM captures WHERE dossier_id IN ({marks}))", [*wanted, *wanted])
    by_blob: dict[str, list[int]] = {}
    shared: set[str] = set()
    for sha256, capture_id, ours in rows:
        if ours:
            by_blob.setdefault(sha256, []).append(capture_id)
        else:
            shared.add(sha256)
    return {sha: ids for sha, ids in by_blob.items() if sha not in shared}


def delete_raw_captures(box: Box, dossier_ids: Iterable[int], *, actor: str) -> list[str]:
    """Delete the raw captures of archived dossiers (see the module docstring for who decides
    that); returns the blobs removed. The rows are marked first and the files removed after
    the commit: a crash in between leaves an unreferenced file (fsck notes it), never a row
    pointing at nothing."""
    due = deletable_raw_captures(box, dossier_ids)
    if not due:
        return []
    stamp = now()
    with transaction(box.db):
        for sha256, capture_ids in due.items():
            box.db.conn.executemany("UPDATE captures SET raw_deleted_at = ? WHERE id = ?",
                                    [(stamp, capture_id) for capture_id in capture_ids])
            for capture_id in capture_ids:
                record_event(box.db, actor, "capture.raw_deleted", "capture", capture_id,
                             {"raw_sha256": sha256})
    for sha256 in due:
        box.blobs.delete(sha256)
    log.info("retention: %d raw captures deleted (%d captures of %s)", len(due),
             sum(map(len, due.values())), sorted(set(dossier_ids)))
    return sorted(due)


def raw_capture_deleted(box: Box, capture_id: int) -> bool:
    row = box.db.conn.execute("SELECT raw_deleted_at FROM captures WHERE id = ?",
                              [capture_id]).fetchone()
    return bool(row and row[0])
