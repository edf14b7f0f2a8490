"""The watch-folder driver: pages taken oldest first, whole, once, with rejects set aside."""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from device.capture.camera import Camera, CameraError
from device.capture.folder import FolderCamera, FolderTimeoutError
from device.capture.registry import open_camera

FAST = {"settle_s": 0.3, "poll_s": 0.05}


def page_bytes(value: int, fmt: str = "PNG", size: tuple[int, int] = (300, 420)) -> bytes:
    """A page image whose pixels vary (so a half-written one differs), tagged by `value` in a corner."""
    rng = np.random.default_rng(value)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    pixels[:8, :8] = value
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def drop(folder: Path, name: str, data: bytes, age_s: float = 0.0) -> Path:
    path = folder / name
    path.write_bytes(data)
    if age_s:
        stamp = time.time() - age_s
        os.utime(path, (stamp, stamp))
    return path


def tag(capture) -> int:
    return int(capture.image[:8, :8].mean().round())  # BGR or RGB alike: the corner is grey


@pytest.fixture
def inbox(tmp_path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def test_pages_are_taken_oldest_first_and_moved_to_taken(inbox):
    drop(inbox, "b.png", page_bytes(20), age_s=30)
    drop(inbox, "a.png", page_bytes(40), age_s=20)
    drop(inbox, "c.jpg", page_bytes(60, "JPEG"), age_s=40)
    camera = open_camera("folder", folder=inbox, timeout_s=5, **FAST)
    assert isinstance(camera, Camera)
    camera.start()
    shots = [camera.capture() for _ in range(3)]
    assert [s.metadata["file"] for s in shots] == ["c.jpg", "b.png", "a.png"]
    assert [tag(s) for s in shots][1:] == [20, 40]
    assert shots[1].image.shape == (420, 300, 3) and shots[1].image.dtype == np.uint8
    assert sorted(p.name for p in (inbox / "taken").iterdir()) == ["a.png", "b.png", "c.jpg"]
    assert not list(inbox.glob("*.png"))
    assert camera.capabilities.is_flat
    assert camera.preview_frame().shape == (896, 640, 3)


def test_the_image_is_in_bgr_order(inbox):
    red = Image.new("RGB", (100, 140), (255, 0, 0))
    buffer = io.BytesIO()
    red.save(buffer, "PNG")
    drop(inbox, "red.png", buffer.getvalue(), age_s=10)
    camera = FolderCamera(inbox, timeout_s=5, **FAST)
    camera.start()
    assert tuple(camera.capture().image[50, 50]) == (0, 0, 255)


def test_a_file_written_slowly_is_taken_only_once_complete(inbox):
    data = page_bytes(80)
    finished = threading.Event()

    def scanner() -> None:
        with open(inbox / "slow.png", "wb") as out:
            for start in range(0, len(data), len(data) // 10):
                out.write(data[start:start + len(data) // 10])
                out.flush()
                # One long pause (longer than the settle time): only the full decode guards it.
                time.sleep(1.0 if start == len(data) // 2 else 0.05)
        finished.set()

    camera = FolderCamera(inbox, timeout_s=20, **FAST)
    camera.start()
    writer = threading.Thread(target=scanner)
    writer.start()
    shot = camera.capture()
    was_finished = finished.is_set()
    writer.join()
    assert was_finished, "the page was taken while the scanner was still writing it"
    assert np.array_equal(shot.image[..., ::-1], np.asarray(Image.open(io.BytesIO(data))))


def test_a_truncated_jpeg_is_never_taken(inbox):
    whole = page_bytes(100, "JPEG")
    drop(inbox, "cut.jpg", whole[: len(whole) * 2 // 3], age_s=60)
    camera = FolderCamera(inbox, timeout_s=1.0, **FAST)
    camera.start()
    with pytest.raises(FolderTimeoutError) as raised:
        camera.capture()
    assert raised.value.message_vi
    assert (inbox / "cut.jpg").exists() and not list((inbox / "taken").iterdir())


def test_a_truncated_file_completed_later_is_taken_whole(inbox):
    whole = page_bytes(110, "JPEG")
    path = drop(inbox, "late.jpg", whole[:1000])
    camera = FolderCamera(inbox, timeout_s=0.8, **FAST)
    camera.start()
    with pytest.raises(FolderTimeoutError):
        camera.capture()
    path.write_bytes(whole)
    assert tag(camera.capture(timeout_s=5)) == 110


def test_an_image_that_never_completes_is_rejected_after_a_while(inbox):
    whole = page_bytes(120, "JPEG")
    drop(inbox, "broken.jpg", whole[:2000])
    camera = FolderCamera(inbox, timeout_s=2.0, reject_after_s=0.5, **FAST)
    camera.start()
    with pytest.raises(FolderTimeoutError):
        camera.capture()
    assert (inbox / "rejected" / "broken.jpg").exists()


def test_files_that_are_not_images_are_set_aside_and_the_next_page_is_taken(inbox):
    drop(inbox, "notes.txt", b"not a page", age_s=30)
    drop(inbox, "scan.pdf", b"%PDF-1.7\n...", age_s=25)
    drop(inbox, "page.png", page_bytes(130), age_s=20)
    drop(inbox, "scan001.jpg.part", b"\xff\xd8 being written", age_s=20)
    camera = FolderCamera(inbox, timeout_s=5, **FAST)
    camera.start()
    assert tag(camera.capture()) == 130
    assert sorted(p.name for p in (inbox / "rejected").iterdir()) == ["notes.txt", "scan.pdf"]
    assert (inbox / "scan001.jpg.part").exists()  # a file under a partial name is left alone


def test_a_multi_page_tiff_is_rejected_not_half_taken(inbox):
    pages = [Image.new("RGB", (60, 80), (v, v, v)) for v in (10, 200)]
    buffer = io.BytesIO()
    pages[0].save(buffer, "TIFF", save_all=True, append_images=pages[1:])
    drop(inbox, "two.tif", buffer.getvalue(), age_s=10)
    camera = FolderCamera(inbox, timeout_s=1, **FAST)
    camera.start()
    with pytest.raises(FolderTimeoutError):
        camera.capture()
    assert (inbox / "rejected" / "two.tif").exists()


def test_a_restart_does_not_take_a_page_twice(inbox):
    for value, age in ((140, 30), (150, 20), (160, 10)):
        drop(inbox, f"p{value}.png", page_bytes(value), age_s=age)
    first = FolderCamera(inbox, timeout_s=5, **FAST)
    first.start()
    assert [tag(first.capture()) for _ in range(2)] == [140, 150]
    first.close()
    again = FolderCamera(inbox, timeout_s=1, **FAST)
    again.start()
    assert tag(again.capture()) == 160
    with pytest.raises(FolderTimeoutError):
        again.capture()


def test_a_reused_file_name_does_not_overwrite_the_page_taken_before(inbox):
    camera = FolderCamera(inbox, timeout_s=5, **FAST)
    camera.start()
    drop(inbox, "scan.png", page_bytes(170), age_s=10)
    assert tag(camera.capture()) == 170
    drop(inbox, "scan.png", page_bytes(180), age_s=5)
    shot = camera.capture()
    assert tag(shot) == 180 and shot.metadata["kept_as"] == "taken/scan.1.png"
    assert sorted(p.name for p in (inbox / "taken").iterdir()) == ["scan.1.png", "scan.png"]


def test_capture_before_start_is_refused(inbox):
    with pytest.raises(CameraError, match="not started"):
        FolderCamera(inbox).capture()
