"""The hub at run time: its settings, folders, signing key, package store and validator."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from device.config import Config, HubConfig
from device.db.connection import Database
from device.provision import ensure_secret
from device.receipts import key_fingerprint, load_or_generate_signing_key, public_key_b64
from hub.db import open_catalog
from hub.store import FilesystemStore, PackageStore

log = logging.getLogger(__name__)

MIB = 1 << 20


@dataclass(frozen=True)
class HubPaths:
    """Every location the hub writes, under its one folder."""

    root: Path

    @property
    def catalog(self) -> Path:
        return self.root / "hub.db"

    @property
    def packages(self) -> Path:
        return self.root / "packages"

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def signing_key(self) -> Path:
        return self.secrets / "receipt_signing.pem"

    @property
    def session_key(self) -> Path:
        return self.secrets / "dashboard_session.key"


def choose_validator() -> Callable[[Path], Any]:
    """The package checks the box also runs before it queues a package."""
    from device.archive.validate import validate_package

    return validate_package


@dataclass
class Hub:
    """What every request and command of the hub shares; `catalog()` opens a connection."""

    settings: HubConfig
    paths: HubPaths
    key: Ed25519PrivateKey
    hub_id: str
    public_key: str
    store: PackageStore
    validate: Callable[[Path], Any]
    busy_timeout_ms: int = 10_000
    session_key: bytes = field(default=b"", repr=False)

    @classmethod
    def open(cls, config: Config, *, validate: Callable[[Path], Any] | None = None) -> Hub:
        settings = config.settings.hub
        paths = HubPaths(Path(settings.data_dir or config.paths.data_dir / "hub").absolute())
        for folder in (paths.root, paths.packages, paths.uploads):
            folder.mkdir(parents=True, exist_ok=True, mode=0o750)
        paths.secrets.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = load_or_generate_signing_key(paths.signing_key)
        public = public_key_b64(key)
        hub = cls(settings=settings, paths=paths, key=key,
                  hub_id=settings.hub_id or f"hub-{key_fingerprint(public)[:12]}",
                  public_key=public, store=FilesystemStore(paths.packages),
                  validate=validate or choose_validator(),
                  busy_timeout_ms=config.settings.database.busy_timeout_ms,
                  session_key=_session_key(paths.session_key))
        open_catalog(paths.catalog, busy_timeout_ms=hub.busy_timeout_ms).close()  # migrate once
        return hub

    def catalog(self) -> Database:
        return open_catalog(self.paths.catalog, busy_timeout_ms=self.busy_timeout_ms,
                            migrated=False)

    @property
    def max_upload_bytes(self) -> int:
        return self.settings.max_upload_mb * MIB

    @property
    def max_chunk_bytes(self) -> int:
        return self.settings.max_chunk_mb * MIB


def _session_key(path: Path) -> bytes:
    """The dashboard's cookie-signing secret, generated on first start (never a literal)."""
    ensure_secret(path)
    return path.read_bytes().strip()
