"""Preview frame rate of the capture service at 640x480, idle and WHILE it captures 12 MP shots.

The service runs in this process on a scratch box (its own config, database, blob store and
Unix socket) with the simulated camera at full size (landscape, so the preview is 640x480).
An MJPEG client reads the stream through the socket, as the web UI will; a second client
shoots one page per request, back to back. Baseline, measured in the same run: a plain
`cv2.imwrite` of one preview frame as JPEG (the least a preview frame costs to hand out).
Figures are printed as milliseconds per frame and as ratios to that baseline, with the
frame rate beside them (goal: >= 10 fps while capturing).

    .venv/bin/python bench/bench_preview.py                  # 10 shots, preview_fps 30 (the default)
    .venv/bin/python bench/bench_preview.py --fps 30         # the preview's ceiling
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench_capture import DOSSIER, imwrite_ms, scratch_box  # noqa: E402
from device.box import Box  # noqa: E402
from device.capture.client import CaptureClient, socket_path  # noqa: E402
from device.capture.server import run_service  # noqa: E402
from device.catalog.dossiers import create_dossier  # noqa: E402

CAPTURE_CONFIG = """
[capture]
camera = "simulated"
camera_options = {{seed = 7, orientation = "landscape"}}
preview_fps = {fps}
"""


class Viewer:
    """Reads the MJPEG stream in a thread and notes when each frame arrived."""

    def __init__(self, client: CaptureClient) -> None:
        self.arrivals: list[float] = []
        self.last: bytes = b""
        self._client, self._stop = client, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for frame in self._client.preview_frames():
            self.arrivals.append(time.perf_counter())
            self.last = frame
            if self._stop.is_set():
                return

    def interval_ms(self, start: float, end: float) -> float:
        """Mean milliseconds between frames that arrived in [start, end]."""
        inside = [t for t in self.arrivals if start <= t <= end]
        if len(inside) < 2:
            return float("inf")
        return (inside[-1] - inside[0]) / (len(inside) - 1) * 1000.0

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def run(root: Path, shots: int, fps: float) -> None:
    config = scratch_box(root, CAPTURE_CONFIG.format(fps=fps))
    stop, ready = threading.Event(), threading.Event()
    with Box.open(config) as box:
        code = create_dossier(box, dict(DOSSIER), actor="bench")
        server = threading.Thread(target=run_service, kwargs={
            "box": box, "camera_kind": None, "stop": stop, "on_ready": lambda _: ready.set()})
        server.start()
        ready.wait(60)
        try:
            measure(box, code, shots, fps, root)
        finally:
            stop.set()
            server.join(timeout=60)


def measure(box: Box, code: str, shots: int, fps: float, root: Path) -> None:
    path = socket_path(box.config)
    with CaptureClient(path, timeout=120) as client, CaptureClient(path) as viewing:
        while not client.status()["camera"]["available"]:
            time.sleep(0.1)
        client.set_target(code)
        client.shoot(1)  # warm-up: models loaded, first page rendered
        viewer = Viewer(viewing)
        time.sleep(1.0)
        idle_start = time.perf_counter()
        time.sleep(3.0)
        idle_end = time.perf_counter()
        acks = []
        for _ in range(shots):
            started = time.perf_counter()
            client.shoot(1)
            acks.append((time.perf_counter() - started) * 1000.0)
        busy_end = time.perf_counter()
        viewer.stop()
        frame = cv2.imdecode(np.frombuffer(viewer.last, np.uint8), cv2.IMREAD_COLOR)
        quality = box.config.settings.capture.preview_jpeg_quality
    baseline = statistics.median(imwrite_ms(frame, root / "baseline.jpg", quality) for _ in range(30))
    idle = viewer.interval_ms(idle_start, idle_end)
    busy = viewer.interval_ms(idle_end, busy_end)
    w, h = box.config.settings.capture.preview_width, box.config.settings.capture.preview_height
    print(f"OpenCV {cv2.__version__}; simulated camera 4056x3040 (12.3 MP); preview {frame.shape[1]}x"
          f"{frame.shape[0]} (box {w}x{h}) capped at {fps:g} fps, JPEG q{quality}; {shots} shots "
          "through the socket")
    print(f"  {'baseline: cv2.imwrite of one preview frame':46s} {baseline:8.2f} ms   1.00x")
    print(f"  {'preview frame interval, idle':46s} {idle:8.2f} ms {idle / baseline:6.1f}x"
          f"   {1000.0 / idle:5.1f} fps")
    print(f"  {'preview frame interval, while capturing':46s} {busy:8.2f} ms {busy / baseline:6.1f}x"
          f"   {1000.0 / busy:5.1f} fps")
    ack = statistics.median(acks)
    print(f"  {'shutter-to-acknowledged through the socket':46s} {ack:8.2f} ms {ack / baseline:6.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=10)
    parser.add_argument("--fps", type=float, default=30.0, help="the service's preview_fps cap")
    parser.add_argument("--dir", type=Path, default=None, help="where the scratch box goes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        run(Path(scratch), args.shots, args.fps)


if __name__ == "__main__":
    main()
