"""Times the shutter QC on 12 MP frames: page detection, each check, the hand model, the whole verdict.

Baseline, measured in the same run on the same frame: `cv2.imwrite` of the frame as JPEG
quality 90 (what the capture service pays anyway to store the shot). Frames come from the
simulated camera when it is importable (a clean shot and one with a hand), else from the
development photos scaled up to 4056x3040. Times are medians of --repeat runs, after one
warm-up run (model loading is not counted).

    .venv/bin/python bench/bench_qc.py                # default: 5 repeats, OpenCV's threads
    .venv/bin/python bench/bench_qc.py --threads 1    # one core, as in a worker process
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from device.imaging import quality as qc  # noqa: E402
from device.imaging.page import detect_page, reduce_image  # noqa: E402
from device.models.palm_detection import default_detector  # noqa: E402

SIZE = (4056, 3040)
PHOTOS = REPO.parent / "shared" / "data" / "photos"


def frames() -> list[tuple[str, np.ndarray]]:
    """Named 12 MP BGR frames: simulated if possible, else scaled real photos."""
    try:
        from device.capture.simulated import SimulatedCamera
    except ImportError:
        SimulatedCamera = None  # noqa: N806
    if SimulatedCamera is not None:
        out = []
        for name, defect in (("sim-clean", None), ("sim-hand", "hand")):
            camera = SimulatedCamera(seed=7, defects=[defect], orientation="landscape")
            camera.start()
            out.append((name, camera.capture().image))
            camera.close()
        return out
    out = []
    for name in ("inner-table", "holding-with-a-hand"):
        photo = cv2.imread(str(PHOTOS / f"{name}.webp"))
        out.append((name, cv2.resize(cv2.rotate(photo, cv2.ROTATE_90_CLOCKWISE), SIZE)))
    return out


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median milliseconds of `fn` over `repeat` runs after a warm-up."""
    fn()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(runs)


def bench_frame(name: str, frame: np.ndarray, repeat: int, scratch: Path) -> None:
    params = qc.QcParams()
    detector = default_detector()
    jpeg = scratch / "frame.jpg"
    baseline = timed(lambda: cv2.imwrite(str(jpeg), frame, [cv2.IMWRITE_JPEG_QUALITY, 90]), repeat)
    small, scale = reduce_image(frame, params.work_long_side)
    page = detect_page(small, params.page)
    quad = page.quad
    full_quad = None if quad is None else (quad + 0.5) / np.float32(scale) - 0.5
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    page_gray = qc.rectify(gray, quad, 640) if quad is not None else gray
    steps: list[tuple[str, Callable[[], object]]] = [
        ("reduce to 1014 px", lambda: reduce_image(frame, params.work_long_side)),
        ("detect_page (reduced copy)", lambda: detect_page(small, params.page)),
        ("detect_page (12 MP input)", lambda: detect_page(frame, params.page)),
        ("check_blur (12 MP patches)", lambda: qc.check_blur(frame, full_quad, params)),
        ("check_glare", lambda: qc.check_glare(small, quad, params)),
        ("check_cutoff", lambda: qc.check_cutoff(small, page, quad, params)),
        ("check_skew", lambda: qc.check_skew(quad, params)),
        (
            "rectify + check_blank",
            lambda: qc.check_blank(qc.rectify(gray, quad, 640), params) if quad is not None else None,
        ),
        ("fingerprint (duplicate)", lambda: qc.fingerprint(page_gray)),
        ("hand model (palm x5 + verify)", lambda: detector(small)),
        ("assess (whole verdict)", lambda: qc.assess(frame, None, params, detector)),
    ]
    verdict = qc.assess(frame, None, params, detector)
    print(
        f"\n{name}: {frame.shape[1]}x{frame.shape[0]}, page {'found' if page.found else 'not found'}"
        f" ({page.confidence:.2f}), flags {verdict.reasons or 'none'}"
    )
    print(f"  {'baseline: cv2.imwrite JPEG q90':32s} {baseline:8.1f} ms   1.00x")
    for label, fn in steps:
        ms = timed(fn, repeat)
        print(f"  {label:32s} {ms:8.1f} ms   {ms / baseline:4.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="cv2.setNumThreads (default: OpenCV's)")
    args = parser.parse_args()
    if args.threads is not None:
        cv2.setNumThreads(args.threads)
    print(f"OpenCV {cv2.__version__}, threads {cv2.getNumThreads()}, numpy {np.__version__}")
    with tempfile.TemporaryDirectory() as scratch:
        for name, frame in frames():
            bench_frame(name, frame, args.repeat, Path(scratch))


if __name__ == "__main__":
    main()
