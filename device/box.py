"""A handle on one box's data: its configuration, database and blob store, opened together."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from device.blobs import BlobStore
from device.config import Config
from device.db import open_database
from device.errors import NotFoundError


@dataclass
class Box:
    """What every operation works on; open one per process (or per web request)."""

    config: Config
    db: Database
    blobs: BlobStore

    @classmethod
    def open(cls, config: Config, *, create: bool = False, migrate: bool = True) -> Box:
        """Open an initialised data directory (`create` is for `sohoa init` only). `migrate=False`
        skips the migration check, which takes the write lock: for per-request connections of
        a server that checked once at start."""
        paths = config.paths
        if not create and not paths.database.is_file():
            raise NotFoundError(
                f"no box data in {paths.data_dir}: run `sohoa --data {paths.data_dir} init` first",
                message_vi="Chưa khởi tạo dữ liệu của hộp: hãy chạy `sohoa init`.")
        paths.data_dir.mkdir(parents=True, exist_ok=True)
        db = open_database(paths.database, busy_timeout_ms=config.settings.database.busy_timeout_ms,
                           migrate=migrate)
        blobs = BlobStore(paths.blobs, min_free_bytes=config.settings.storage.min_free_mb * 2**20)
        return cls(config=config, db=db, blobs=blobs)

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Box:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
