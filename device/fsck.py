"""Checks a box's data: every blob against its hash, the database against itself and the blobs."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from device.box import Box
from device.db.pages import referenced_blobs


@dataclass
class FsckReport:
    """Problems make the check fail; notes (left-overs a crash may leave) do not."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    blobs_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def check_box(box: Box) -> FsckReport:
    """Verify the database, then every referenced blob's bytes; list what does not match."""
    report = FsckReport()
    _check_database(box, report)
    refs = referenced_blobs(box.db)
    for sha256, holders in sorted(refs.items()):
        report.blobs_checked += 1
        if not box.blobs.exists(sha256):
            report.problems.append(f"missing blob {sha256} (used by {', '.join(holders)})")
        elif not box.blobs.verify(sha256):
            report.problems.append(f"corrupt blob {sha256}: bytes do not match the hash "
                                   f"(used by {', '.join(holders)})")
    unreferenced = [sha for sha in box.blobs.all_hashes() if sha not in refs]
    if unreferenced:
        report.notes.append(f"{len(unreferenced)} stored blobs are not referenced (left by an "
                            "interrupted import or capture; nothing was acknowledged for them)")
    leftovers = box.blobs.leftover_temp_files()
    if leftovers:
        report.notes.append(f"{len(leftovers)} temporary files left by an interrupted write")
    return report


def _check_database(box: Box, report: FsckReport) -> None:
    conn = box.db.conn
    result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    if result != ["ok"]:
        report.problems += [f"database: {line}" for line in result]
    for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check"):
        report.problems.append(f"database: {table} row {rowid} points to a missing {parent} row")
    try:
        conn.execute("INSERT INTO page_text (page_text) VALUES ('integrity-check')")
    except sqlite3.DatabaseError as exc:
        report.problems.append(f"search index: {exc}")
    orphans = conn.execute("SELECT count(*) FROM page_text WHERE rowid NOT IN "
                           "(SELECT id FROM pages)").fetchone()[0]
    if orphans:
        report.problems.append(f"search index: {orphans} entries for pages that do not exist")
    dangling = conn.execute("SELECT count(*) FROM jobs WHERE subject LIKE 'page:%' AND "
                            "CAST(substr(subject, 6) AS INTEGER) NOT IN (SELECT id FROM pages)"
                            ).fetchone()[0]
    if dangling:
        report.problems.append(f"job queue: {dangling} jobs for pages that do not exist")
