"""Evaluates book-page dewarping: text-line curvature and OCR CER, flat vs curled vs dewarped.

Each sample is one simulated shot of a bound register page (SimulatedCamera(bound=True),
seeds from 600000, shots 0 and 1 so both a recto and a verso page are seen), taken twice with
the same seed: once with the page lying flat (curl 0) and once curled by `--curl` (1.0 is the
simulator's everyday bound page, a 12-20 mm hump beside the spine; 2.0 a thick register). Both
are rectified with the simulator's true corners (so page detection does not blur the
comparison), then the curled page is dewarped. CER is Levenshtein distance over the ground
truth length after collapsing whitespace, summed over pages. Curvature is dewarp's own line
measure (mean over text lines of the largest gap between a line's cubic and straight fits,
full-resolution pixels), re-detected on each image. The timing baseline, measured in the same
run on the same pages, is `rectify` of the 12 MP shot, which the pipeline pays anyway.

    .venv/bin/python bench/eval_dewarp.py                       # 4 seeds x 2 shots, curl 2.0
    .venv/bin/python bench/eval_dewarp.py --curl 1.0 --seeds 8  # the everyday bound page
    .venv/bin/python bench/eval_dewarp.py --set smoothness=0.1  # try another DewarpParams
    .venv/bin/python bench/eval_dewarp.py --spreads 8           # also spread splitting

With --spreads N, N simulated open registers (SpreadCamera, seeds from 600000, alternately
plain, curl 2.0 and a hand holding the book open) are split: the gutter's error (largest
distance of the true gutter's ends from the found fold, % of the page width), the worst page
corner's error (% of the page diagonal), and the time of split_spread given the pipeline's
page detection, against detect_page itself (the baseline, same run, same frames).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import statistics
import sys
import time
from pathlib import Path

os.environ["OMP_THREAD_LIMIT"] = "1"  # before tesserocr loads; one core per engine

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rapidfuzz.distance import Levenshtein  # noqa: E402

from device.capture.sim_spread import SpreadCamera  # noqa: E402
from device.capture.simulated import SimulatedCamera  # noqa: E402
from device.imaging.dewarp import DewarpParams, dewarp, find_text_lines, line_curvatures  # noqa: E402
from device.imaging.page import detect_page  # noqa: E402
from device.imaging.rectify import rectify  # noqa: E402
from device.imaging.spread import split_spread  # noqa: E402
from device.ocr.engine import OcrEngine  # noqa: E402

FIRST_SEED = 600000


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def curvature(image: np.ndarray) -> float:
    """Mean line curvature in full-resolution pixels (dewarp's measure, re-detected)."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    lines = find_text_lines(grey)
    return float(np.mean(line_curvatures(lines))) / lines.scale if lines.count else float("nan")


def shot(seed: int, index: int, curl: float) -> tuple[np.ndarray, str, float]:
    """The rectified page of shot `index`, its text, and the time rectify took (seconds)."""
    camera = SimulatedCamera(seed=seed, bound=True, curl=curl)
    camera.start()
    try:
        for _ in range(index):
            camera.capture()
        capture = camera.capture()
    finally:
        camera.close()
    start = time.perf_counter()
    page = rectify(capture.image, capture.ground_truth.corners_array)
    return page.image, capture.ground_truth.text, time.perf_counter() - start


def parse_params(items: list[str]) -> DewarpParams:
    """DewarpParams with `name=value` overrides (numbers only)."""
    fields = {f.name: f for f in dataclasses.fields(DewarpParams)}
    overrides = {}
    for item in items:
        name, value = item.split("=", 1)
        if name not in fields:
            raise SystemExit(f"unknown DewarpParams field {name!r}; known: {', '.join(fields)}")
        overrides[name] = type(getattr(DewarpParams(), name))(value)
    return DewarpParams(**overrides)


def eval_spreads(count: int) -> None:
    """Split `count` simulated open registers; print errors against the truth and timings."""
    variants = [({}, None), ({"curl": 2.0}, None), ({}, {"hand": {"side": "right"}})]
    detect_s, split_s, gutter, corner, split = [], [], [], [], 0
    print(f"{'spread':8s} {'variant':34s} {'result':18s} {'gutter %':>8s} {'corner %':>8s} {'ms':>5s} {'detect ms':>9s}")
    for i in range(count):
        seed = FIRST_SEED + i
        options, defects = variants[i % len(variants)]
        camera = SpreadCamera(seed=seed, **options)
        camera.start()
        capture = camera.capture(defects=defects)
        camera.close()
        start = time.perf_counter()
        detection = detect_page(capture.image)
        detect_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = split_spread(capture.image, detection=detection)
        split_s.append(time.perf_counter() - start)
        truth = capture.ground_truth.defects["spread"]
        pages = [np.array(q) for q in truth["pages"]]
        g_err = c_err = float("nan")
        if result.applied:
            split += 1
            a, b = result.gutter
            normal = np.array([a[1] - b[1], b[0] - a[0]]) / np.linalg.norm(b - a)
            width = np.linalg.norm(pages[0][1] - pages[0][0])
            g_err = max(abs((p - a) @ normal) for p in np.array(truth["gutter"])) / width
            c_err = max(np.linalg.norm(f - t, axis=1).max() / np.linalg.norm(t[2] - t[0]) for f, t in zip(result.pages, pages))
            gutter.append(g_err)
            corner.append(c_err)
        label = f"{options or ''} {defects or ''}".strip() or "plain"
        print(f"{seed:<8d} {label:34s} {result.reason or 'split':18s} {g_err:8.2%} {c_err:8.2%}"
              f" {split_s[-1] * 1000:5.0f} {detect_s[-1] * 1000:9.0f}", flush=True)
    print("-" * 86)
    print(f"split {split} of {count}; gutter error max {max(gutter, default=float('nan')):.2%} of the page width;"
          f" corner error max {max(corner, default=float('nan')):.2%} of the page diagonal")
    d, s = statistics.median(detect_s), statistics.median(split_s)
    print(f"split_spread median {s * 1000:.0f} ms (given the detection) = {s / d:.2f}x detect_page ({d * 1000:.0f} ms), 12 MP, one thread")


def eval_pages(seeds: int, shots: int, curl: float, params: DewarpParams) -> None:
    """CER and curvature of flat, curled and dewarped pages; dewarp's time against rectify's."""
    engine = OcrEngine()
    errors = {"flat": 0, "curled": 0, "dewarped": 0}
    length = flat_kept = 0
    curv: dict[str, list[float]] = {"flat": [], "curled": [], "dewarped": []}
    dewarp_s, rectify_s = [], []
    print(f"curl {curl}; {params}")
    print(f"{'sample':14s} {'CER flat':>9s} {'curled':>7s} {'dewarped':>8s} | {'curv flat':>9s} {'curled':>7s}"
          f" {'dewarped':>8s} | {'reason':14s} {'ms':>5s}")
    for seed in range(FIRST_SEED, FIRST_SEED + seeds):
        for index in range(shots):
            flat, truth, _ = shot(seed, index, 0.0)
            curled, truth_c, rect_s = shot(seed, index, curl)
            assert truth == truth_c, "the flat and curled shots must show the same page"
            flat_kept += int(not dewarp(flat, params).applied)
            start = time.perf_counter()
            result = dewarp(curled, params)
            dewarp_s.append(time.perf_counter() - start)
            rectify_s.append(rect_s)
            ref = collapse(truth)
            row = {}
            for name, image in (("flat", flat), ("curled", curled), ("dewarped", result.image)):
                text = engine.recognize(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dpi=250).text
                edits = Levenshtein.distance(collapse(text), ref)
                errors[name] += edits
                row[name] = (edits / len(ref), curvature(image))
                curv[name].append(row[name][1])
            length += len(ref)
            print(f"{seed}/{index:<7d} {row['flat'][0]:9.2%} {row['curled'][0]:7.2%} {row['dewarped'][0]:8.2%} |"
                  f" {row['flat'][1]:9.2f} {row['curled'][1]:7.2f} {row['dewarped'][1]:8.2f} |"
                  f" {result.reason or 'applied':14s} {dewarp_s[-1] * 1000:5.0f}", flush=True)
    print("-" * 86)
    cer = {k: v / length for k, v in errors.items()}
    print(f"CER      flat {cer['flat']:.2%}   curled {cer['curled']:.2%} ({cer['curled'] / cer['flat']:.2f}x flat)"
          f"   dewarped {cer['dewarped']:.2%} ({cer['dewarped'] / cer['flat']:.2f}x flat)")
    mean = {k: float(np.nanmean(v)) for k, v in curv.items()}
    print(f"curvature (px) flat {mean['flat']:.2f}   curled {mean['curled']:.2f}   dewarped {mean['dewarped']:.2f}"
          f"   reduction {1 - mean['dewarped'] / mean['curled']:.0%}")
    print(f"flat pages left untouched by dewarp: {flat_kept} of {len(dewarp_s)}")
    d, r = statistics.median(dewarp_s), statistics.median(rectify_s)
    print(f"dewarp median {d * 1000:.0f} ms per page = {d / r:.2f}x rectify of the 12 MP shot ({r * 1000:.0f} ms), one thread")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4, help="how many seeds from 600000 (0: no dewarp run)")
    parser.add_argument("--shots", type=int, default=2, help="shots per seed (0: recto, 1: verso)")
    parser.add_argument("--curl", type=float, default=2.0, help="curl of the curled pages")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a DewarpParams override")
    parser.add_argument("--spreads", type=int, default=0, help="also split this many simulated open registers")
    args = parser.parse_args()
    params = parse_params(args.set)
    cv2.setNumThreads(1)
    if args.spreads:
        eval_spreads(args.spreads)
        print()
    if args.seeds and args.shots:
        eval_pages(args.seeds, args.shots, args.curl, params)


if __name__ == "__main__":
    main()
