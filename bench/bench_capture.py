"""Times a shot from shutter to acknowledgement: capture, JPEG, QC, durable blob, commit.

Baseline, measured in the same run on the same frames: `cv2.imwrite` of each frame as JPEG
quality 92 (the least any capture path pays to keep a shot). Frames are 12 MP shots of the
simulated camera into a scratch box (its own config, database and blob store); the first shot
is a warm-up and not counted (model loading, first page render). The simulator's render time
stands in for the camera's; it is shown apart, as is the total without it.

    .venv/bin/python bench/bench_capture.py              # 10 shots, scratch box in the temp dir
    .venv/bin/python bench/bench_capture.py --dir DIR    # put the scratch box on another disk
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from device.box import Box  # noqa: E402
from device.capture.camera import Capture  # noqa: E402
from device.capture.shoot import JPEG_QUALITY, shoot  # noqa: E402
from device.capture.simulated import SimulatedCamera  # noqa: E402
from device.catalog.dossiers import create_dossier  # noqa: E402
from device.config import load_config  # noqa: E402
from device.imaging.quality import default_hand_detector  # noqa: E402
from device.provision import init_box  # noqa: E402

log = logging.getLogger(__name__)

CONFIG = """
[box]
agency_id = "H49.64.33"
archive_code = "G09"
fonds_code = "P01"
fonds_name = "UBND xã Thử"
"""
DOSSIER = {"fileCode": "H49.64.33.2001.160", "title": "Hồ sơ đo thời gian chụp", "maintenance": "01",
           "mode": "01", "language": ["01"], "startDate": "15/09/2001"}


class RecordingCamera:
    """The simulated camera, keeping each frame it hands out so the baseline can use it."""

    def __init__(self, camera: SimulatedCamera) -> None:
        self.camera = camera
        self.frames: list[np.ndarray] = []

    @property
    def capabilities(self):
        return self.camera.capabilities

    def start(self) -> None:
        self.camera.start()

    def preview_frame(self) -> np.ndarray:
        return self.camera.preview_frame()

    def capture(self) -> Capture:
        shot = self.camera.capture()
        self.frames.append(shot.image)
        return shot

    def close(self) -> None:
        self.camera.close()


def imwrite_ms(frame: np.ndarray, path: Path, quality: int = JPEG_QUALITY) -> float:
    """Milliseconds of a plain cv2.imwrite JPEG of `frame`: the baseline of the benchmarks."""
    start = time.perf_counter()
    cv2.imwrite(str(path), frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return (time.perf_counter() - start) * 1000.0


def scratch_box(root: Path, extra_config: str = ""):
    """The configuration of a new scratch box in `root` (its own database and blob store)."""
    config_file = root / "sohoa.toml"
    config_file.write_text(CONFIG + extra_config, encoding="utf-8")
    config = load_config(config_file, root / "data", environ={})
    init_box(config, actor="bench")
    return config


def run(root: Path, shots: int) -> None:
    config = scratch_box(root)
    camera = RecordingCamera(SimulatedCamera(seed=7))
    camera.start()
    detector = default_hand_detector()
    with Box.open(config) as box:
        code = create_dossier(box, dict(DOSSIER), actor="bench")
        shoot(box, camera, code, count=1, actor="bench", hand_detector=detector)  # warm-up
        results = shoot(box, camera, code, count=shots, actor="bench", hand_detector=detector)
    frames = camera.frames[1:]
    baseline = statistics.median(imwrite_ms(frame, root / "baseline.jpg") for frame in frames)
    w, h = camera.capabilities.max_resolution
    print(f"OpenCV {cv2.__version__}, threads {cv2.getNumThreads()}; {shots} shots of {w}x{h} "
          f"({w * h / 1e6:.1f} MP), JPEG q{JPEG_QUALITY}, {[r.ok for r in results].count(False)} flagged by QC")
    print(f"  {'baseline: cv2.imwrite JPEG q92':38s} {baseline:8.1f} ms   1.00x")

    def row(label: str, values: list[float]) -> None:
        ms = statistics.median(values)
        print(f"  {label:38s} {ms:8.1f} ms   {ms / baseline:5.2f}x")

    timing = [r.timings_ms for r in results]
    for key in ("capture_ms", "encode_ms", "qc_ms", "store_ms", "commit_ms"):
        row(f"  {key[:-3]}", [t[key] for t in timing])
    row("shutter-to-acknowledged (total)", [t["total_ms"] for t in timing])
    row("... without the simulator's render", [t["total_ms"] - t["capture_ms"] for t in timing])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=10)
    parser.add_argument("--dir", type=Path, default=None, help="where the scratch box goes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        run(Path(scratch), args.shots)


if __name__ == "__main__":
    main()
