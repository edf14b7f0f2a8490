"""The blob store writes durably in the right order and verifies; fsck finds what went wrong."""

from __future__ import annotations

import errno
import hashlib
import os

import pytest

from device.blobs import BlobStore, FileOps
from device.errors import IntegrityError, StorageError, StorageFullError
from device.fsck import check_box
from device.intake import import_files


class RecordingOps(FileOps):
    """The real calls, with a record of their order; can fail at a chosen call."""

    def __init__(self, fail_at: str | None = None, error: int = errno.EIO) -> None:
        self.calls: list[str] = []
        self.fail_at, self.error = fail_at, error

    def _note(self, name: str) -> None:
        self.calls.append(name)
        if name == self.fail_at:
            raise OSError(self.error, os.strerror(self.error))

    def write(self, fd, data):
        self._note("write")
        super().write(fd, data)

    def fsync(self, fd):
        self._note("fsync")
        super().fsync(fd)

    def rename(self, source, target):
        self._note("rename")
        super().rename(source, target)

    def fsync_dir(self, folder):
        self._note("fsync_dir")
        super().fsync_dir(folder)


def test_a_blob_is_written_fsynced_renamed_then_its_folder_fsynced(tmp_path):
    ops = RecordingOps()
    store = BlobStore(tmp_path / "blobs", ops=ops)
    sha = store.put(b"page bytes")
    assert sha == hashlib.sha256(b"page bytes").hexdigest()
    # A new folder's entry is fsynced in the store's root as well.
    assert ops.calls == ["write", "fsync", "rename", "fsync_dir", "fsync_dir"]
    assert store.read(sha, verify=True) == b"page bytes"
    ops.calls.clear()
    store.put(b"other bytes" * 10)
    assert ops.calls[:4] == ["write", "fsync", "rename", "fsync_dir"]
    store.put(b"page bytes")
    assert ops.calls.count("rename") == 1  # stored bytes are not written again


@pytest.mark.parametrize("fail_at", ["write", "fsync", "rename"])
def test_a_failed_write_leaves_no_blob_and_no_temporary_file(tmp_path, fail_at):
    store = BlobStore(tmp_path / "blobs", ops=RecordingOps(fail_at))
    with pytest.raises(StorageError):
        store.put(b"x" * 1000)
    assert list(store.all_hashes()) == [] and store.leftover_temp_files() == []


def test_a_full_disk_during_the_write_is_a_clear_storage_full_error(tmp_path):
    store = BlobStore(tmp_path / "blobs", ops=RecordingOps("write", errno.ENOSPC))
    with pytest.raises(StorageFullError, match="disk is full"):
        store.put(b"x")


def test_the_free_space_floor_refuses_before_writing(tmp_path):
    store = BlobStore(tmp_path / "blobs", min_free_bytes=2**62, ops=RecordingOps())
    with pytest.raises(StorageFullError, match="must stay free"):
        store.put(b"x")
    assert store.ops.calls == []


def test_streamed_blobs_hash_while_writing(tmp_path):
    import io

    store = BlobStore(tmp_path / "blobs")
    data = os.urandom(3 * 2**20 + 17)
    sha = store.put_stream(io.BytesIO(data), len(data))
    assert sha == hashlib.sha256(data).hexdigest() and store.verify(sha)


def test_verification_catches_changed_bytes(tmp_path):
    store = BlobStore(tmp_path / "blobs")
    sha = store.put(b"original")
    path = store.path(sha)
    path.chmod(0o644)
    path.write_bytes(b"0riginal")
    assert not store.verify(sha)
    with pytest.raises(IntegrityError):
        store.read(sha, verify=True)


def test_fsck_passes_on_a_healthy_box_and_finds_a_changed_and_a_missing_blob(
        box, dossier_code, page_png, tmp_path):
    from PIL import Image

    other = tmp_path / "other.png"
    Image.new("RGB", (50, 70), "grey").save(other)
    report = import_files(box, dossier_code, [page_png, other], actor="test")
    assert check_box(box).ok
    changed, missing = (page["sha256"] for page in report.pages)
    path = box.blobs.path(changed)
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    box.blobs.path(missing).unlink()
    found = check_box(box)
    assert not found.ok
    assert any(f"corrupt blob {changed}" in line for line in found.problems)
    assert any(f"missing blob {missing}" in line for line in found.problems)


def test_fsck_only_notes_what_an_interrupted_write_leaves(box):
    box.blobs.put(b"never recorded")
    (box.blobs.root / "ab").mkdir(exist_ok=True)
    (box.blobs.root / "ab" / ".tmp-1-deadbeef").write_bytes(b"half")
    report = check_box(box)
    assert report.ok and len(report.notes) == 2


def test_fsck_command_exit_codes(tmp_path, config_file, page_png):
    import json

    from tests.conftest import VALID_DOSSIER
    from tests.device.cli.conftest import Sohoa

    sohoa = Sohoa(tmp_path / "d", config_file)
    sohoa("init")
    (tmp_path / "d.json").write_text(json.dumps(VALID_DOSSIER))
    sohoa("dossier", "create", "--json", tmp_path / "d.json")
    sohoa("import", VALID_DOSSIER["fileCode"], page_png)
    assert sohoa("fsck").exit_code == 0
    for blob in (tmp_path / "d" / "blobs").rglob("*"):
        if blob.is_file():
            blob.write_bytes(b"tampered")
    result = sohoa("fsck")
    assert result.exit_code == 76 and "PROBLEM corrupt blob" in result.stdout
