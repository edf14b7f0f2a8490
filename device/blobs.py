"""The content-addressed blob store: files named by their SHA-256, written atomically and durably.

A blob is written to a temporary name in its own folder, fsynced, renamed to its hash and the
folder fsynced, all before the caller records it in the database and tells anyone it is saved.
The file-system calls go through `FileOps` so a test can record their order.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from device.errors import IntegrityError, NotFoundError, StorageError, StorageFullError
from device.files import fsync_folder, sha256_file

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
_TEMP_PREFIX = ".tmp-"


class FileOps:
    """The file-system calls a durable write makes, in one place."""

    def open_temp(self, folder: Path) -> tuple[int, Path]:
        path = folder / f"{_TEMP_PREFIX}{os.getpid()}-{os.urandom(6).hex()}"
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), path

    def write(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]

    def fsync(self, fd: int) -> None:
        os.fsync(fd)

    def close(self, fd: int) -> None:
        os.close(fd)

    def rename(self, source: Path, target: Path) -> None:
        os.rename(source, target)

    def fsync_dir(self, folder: Path) -> None:
        fsync_folder(folder)

    def unlink(self, path: Path) -> None:
        path.unlink(missing_ok=True)


class BlobStore:
    """Blobs under `root/ab/abcdef…`, refused when free space would fall below the floor."""

    def __init__(self, root: Path, *, min_free_bytes: int = 0, ops: FileOps | None = None) -> None:
        self.root = root
        self.min_free_bytes = min_free_bytes
        self.ops = ops or FileOps()

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def free_bytes(self) -> int:
        self.root.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(self.root).free

    def ensure_space(self, incoming_bytes: int) -> None:
        """Refuse, before anything is written, work that would leave less than the floor free."""
        free = self.free_bytes()
        if free - incoming_bytes < self.min_free_bytes:
            raise StorageFullError(
                f"not enough free space: {free // 2**20} MiB free, {incoming_bytes // 2**20} MiB "
                f"needed, and at least {self.min_free_bytes // 2**20} MiB must stay free",
                message_vi="Bộ nhớ sắp đầy: không thể lưu thêm. Hãy gửi hoặc xuất dữ liệu rồi "
                           "giải phóng dung lượng.")

    def put(self, data: bytes) -> str:
        """Store bytes durably; returns their SHA-256 (already stored bytes are not rewritten)."""
        sha256 = hashlib.sha256(data).hexdigest()
        if self.exists(sha256):
            return sha256
        self.ensure_space(len(data))
        self._write(sha256, [data])
        return sha256

    def put_stream(self, stream: BinaryIO, size_hint: int = 0) -> str:
        """Store a stream durably while hashing it; returns its SHA-256."""
        self.ensure_space(size_hint)
        digest = hashlib.sha256()

        def chunks() -> Iterator[bytes]:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                yield chunk

        return self._write(None, chunks(), digest)

    def _write(self, sha256: str | None, chunks, digest=None) -> str:
        staging = self.root / (sha256[:2] if sha256 else "incoming")
        created = not staging.is_dir()
        staging.mkdir(parents=True, exist_ok=True)
        fd, temp = self.ops.open_temp(staging)
        try:
            try:
                for chunk in chunks:
                    self.ops.write(fd, chunk)
                self.ops.fsync(fd)
            finally:
                self.ops.close(fd)
            sha256 = sha256 or digest.hexdigest()
            target = self.path(sha256)
            created |= not target.parent.is_dir()
            target.parent.mkdir(parents=True, exist_ok=True)
            self.ops.rename(temp, target)
            self.ops.fsync_dir(target.parent)
            if created:  # a new folder's own entry must reach the disk too
                self.ops.fsync_dir(self.root)
        except OSError as exc:
            self.ops.unlink(temp)
            if exc.errno == 28:  # ENOSPC
                raise StorageFullError("the disk is full; nothing was saved",
                                       message_vi="Bộ nhớ đã đầy; chưa lưu được gì.") from None
            raise StorageError(f"cannot write blob: {exc}") from None
        return sha256

    def read(self, sha256: str, *, verify: bool = False) -> bytes:
        """The blob's bytes; with verify, raises IntegrityError when they do not match the hash."""
        try:
            data = self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"blob {sha256} is missing") from None
        if verify and hashlib.sha256(data).hexdigest() != sha256:
            raise IntegrityError(f"blob {sha256} is corrupt: its bytes do not match its hash")
        return data

    def delete(self, sha256: str) -> None:
        """Remove a blob durably (its folder synced); nothing if it is already gone. Only for
        a blob no row refers to any more: the caller drops the references first."""
        path = self.path(sha256)
        self.ops.unlink(path)
        self.ops.fsync_dir(path.parent)

    def verify(self, sha256: str) -> bool:
        """Whether the stored file exists and hashes to its name (streamed, any size)."""
        try:
            return sha256_file(self.path(sha256)) == sha256
        except FileNotFoundError:
            return False

    def all_hashes(self) -> Iterator[str]:
        """Every blob on disk (temporary files excluded)."""
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir() and len(folder.name) == 2:
                for item in sorted(folder.iterdir()):
                    if not item.name.startswith(_TEMP_PREFIX):
                        yield item.name

    def leftover_temp_files(self) -> list[Path]:
        """Temporary files a crash left behind (never acknowledged, safe to delete)."""
        if not self.root.is_dir():
            return []
        return sorted(self.root.glob(f"*/{_TEMP_PREFIX}*"))
