"""The USB camera driver on a real MJPG video file and a PNG image sequence, through the same API."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from device.capture.camera import Camera, CameraError
from device.capture.registry import open_camera
from device.capture.uvc import UvcCamera

SIZE = (1280, 720)
FRAMES = 12
STEP = 20  # frame i is a flat grey of i * STEP, so the test can tell which frame came back


def frame(index: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    return np.full((size[1], size[0], 3), index * STEP, np.uint8)


def index_of(image: np.ndarray) -> int:
    return int(round(float(image.mean()) / STEP))


@pytest.fixture
def video(tmp_path) -> Path:
    path = tmp_path / "camera.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, SIZE)
    assert writer.isOpened()
    for index in range(FRAMES):
        writer.write(frame(index))
    writer.release()
    return path


@pytest.fixture
def sequence(tmp_path) -> str:
    folder = tmp_path / "frames"
    folder.mkdir()
    for index in range(FRAMES):
        cv2.imwrite(str(folder / f"{index:03d}.png"), frame(index, (800, 600)))
    return str(folder / "%03d.png")


def test_a_video_file_reports_its_size_and_returns_the_frame_after_the_warmup(video):
    camera = open_camera("uvc", device=str(video), warmup_frames=3)
    assert isinstance(camera, Camera)
    camera.start()
    assert camera.capabilities.max_resolution == SIZE
    shot = camera.capture()
    assert shot.image.shape == (SIZE[1], SIZE[0], 3) and shot.image.dtype == np.uint8
    assert index_of(shot.image) == 3  # frames 0, 1, 2 were thrown away
    assert shot.metadata["frame_size"] == SIZE
    assert index_of(camera.capture().image) == 4
    camera.close()


def test_buffered_frames_are_drained_so_a_capture_shows_the_latest(sequence):
    camera = UvcCamera(sequence, warmup_frames=2, drain_frames=3)
    camera.start()
    assert camera.capabilities.max_resolution == (800, 600)
    assert index_of(camera.capture().image) == 2 + 3
    assert index_of(camera.capture().image) == 2 + 3 + 1 + 3


def test_the_preview_is_a_small_frame_of_the_same_stream(video):
    camera = UvcCamera(str(video), warmup_frames=1)
    camera.start()
    preview = camera.preview_frame()
    assert preview.shape == (360, 640, 3)
    assert index_of(preview) == 1
    assert index_of(camera.capture().image) == 2


def test_the_end_of_the_stream_is_reported_as_a_camera_that_stopped_delivering(sequence):
    camera = UvcCamera(sequence, warmup_frames=FRAMES - 1)
    camera.start()
    assert index_of(camera.capture().image) == FRAMES - 1
    with pytest.raises(CameraError, match="not delivering frames") as raised:
        camera.capture()
    assert "cáp USB" in raised.value.message_vi


def test_a_warmup_longer_than_the_stream_fails_at_start(video):
    with pytest.raises(CameraError, match="no frame while warming up"):
        UvcCamera(str(video), warmup_frames=FRAMES + 5).start()


def test_a_camera_that_is_not_there_cannot_be_opened(tmp_path):
    with pytest.raises(CameraError, match="could not be opened"):
        UvcCamera(str(tmp_path / "missing" / "%03d.png")).start()


def test_capture_before_start_is_refused(video):
    with pytest.raises(CameraError, match="not started"):
        UvcCamera(str(video)).capture()
