"""Queries on `packages`: one frozen TT05 package zip per dossier version and kind."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from device.db.timeutil import now


def package_for_version(db: Database, dossier_id: int, version: int, kind: str) -> dict[str, Any] | None:
    """The package already built for this dossier version and kind, or None."""
    rows = list(db.query("SELECT * FROM packages WHERE dossier_id = ? AND dossier_version = ? "
                         "AND kind = ?", [dossier_id, version, kind]))
    return rows[0] if rows else None


def latest_earlier_package(db: Database, dossier_id: int, version: int, kind: str) -> dict[str, Any] | None:
    """The newest package of an earlier version of the dossier, of the same kind (what a new
    version's package supersedes), or None."""
    rows = list(db.query("SELECT * FROM packages WHERE dossier_id = ? AND dossier_version < ? "
                         "AND kind = ? ORDER BY dossier_version DESC LIMIT 1",
                         [dossier_id, version, kind]))
    return rows[0] if rows else None


def package_by_sha256(db: Database, sha256: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM packages WHERE sha256 = ?", [sha256]))
    return rows[0] if rows else None


def packages_of(db: Database, dossier_id: int) -> list[dict[str, Any]]:
    """A dossier's packages, oldest first."""
    return list(db.query("SELECT * FROM packages WHERE dossier_id = ? ORDER BY id", [dossier_id]))


def record_package(db: Database, *, dossier_id: int, dossier_version: int, kind: str,
                   package_id: str, sha256: str, size: int, relpath: str,
                   supersedes_package_id: str | None, network_allowed: bool) -> int:
    """Record a built and validated package; call inside the transaction that moves the dossier.
    `network_allowed` is the packaged version's (False for Mật), kept with the package."""
    cursor = db.conn.execute(
        "INSERT INTO packages (dossier_id, dossier_version, kind, package_id, sha256, size, relpath,"
        " supersedes_package_id, network_allowed, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (dossier_id, dossier_version, kind, package_id, sha256, size, relpath,
         supersedes_package_id, int(bool(network_allowed)), now()))
    return int(cursor.lastrowid)
