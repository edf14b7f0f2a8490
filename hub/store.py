"""Where accepted packages live, by SHA-256: a small interface and its filesystem implementation.

An S3-compatible object store can replace the filesystem when a province outgrows one machine:
it implements the same three calls (put with `If-None-Match: *` gives the same store-once rule).
"""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
from pathlib import Path
from typing import BinaryIO, Protocol

from device.errors import InputError, StorageError
from device.files import fsync_folder

log = logging.getLogger(__name__)

_SHA256 = re.compile(r"[0-9a-f]{64}")


class PackageStore(Protocol):
    """Packages by SHA-256; a package is written once and never changed."""

    def put(self, sha256: str, src_path: Path) -> bool:
        """Store the file at `src_path` (consumed) under `sha256`; False when already held."""

    def open(self, sha256: str) -> BinaryIO:
        """The stored bytes; FileNotFoundError when absent."""

    def exists(self, sha256: str) -> bool:
        """Whether a package with this SHA-256 is held."""


class FilesystemStore:
    """`root/ab/cd/<sha256>.zip`, each file made durable then linked into place exactly once."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise InputError(f"not a SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}.zip"

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        return self.path(sha256).open("rb")

    def put(self, sha256: str, src_path: Path) -> bool:
        """Link (or copy, across filesystems) `src_path` into place; the caller checked its hash.

        `os.link` fails when the target exists, so two uploads of one package finishing at
        once store it once. The source is removed once the package is held; when storing
        fails (StorageError) it is left, so the caller can try again."""
        target = self.path(sha256)
        src_path = Path(src_path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with src_path.open("rb+") as handle:
                os.fsync(handle.fileno())
            stored = self._link(src_path, target)
            if stored:
                fsync_folder(target.parent)
                log.info("package %s stored at %s", sha256[:12], target)
        except OSError as exc:
            raise StorageError(f"cannot store package {sha256[:12]}: {exc}",
                               message_vi="Không lưu được gói tin vào kho") from exc
        src_path.unlink(missing_ok=True)
        return stored

    def _link(self, src_path: Path, target: Path) -> bool:
        try:
            os.link(src_path, target)
            return True
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
        temp = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            with src_path.open("rb") as source, temp.open("xb") as copy:
                shutil.copyfileobj(source, copy, 1 << 20)
                copy.flush()
                os.fsync(copy.fileno())
            os.link(temp, target)
            return True
        except FileExistsError:
            return False
        finally:
            temp.unlink(missing_ok=True)
