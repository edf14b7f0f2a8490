"""Pages for the cleanup-stage tests: rendered Vietnamese pages, known turns and light, CER."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import cv2
import numpy as np
from rapidfuzz.distance import Levenshtein

from device.capture.render import RenderedPage, render_page
from tests.conftest import REPO_ROOT

SAMPLE_TEXTS = REPO_ROOT / "device" / "capture" / "sample_texts"
#: The simulator's sample legal texts (in the repository), by stem.
TEXTS = ("doc_000019", "doc_000086", "doc_000110", "doc_000007")
#: maint-guide pages stored at 300 dpi in the shared data: real typeset pages, exact text.
MAINT_PAGES = (7, 8, 9, 12)


@functools.lru_cache(maxsize=8)
def rendered(name: str = "doc_000019", dpi: int = 200) -> RenderedPage:
    """The first page of a sample legal text, grey, white paper, with its ground truth."""
    return render_page((SAMPLE_TEXTS / f"{name}.txt").read_text(encoding="utf-8"), dpi)


def maint_page(shared_data: Path, number: int) -> np.ndarray:
    return cv2.imread(str(shared_data / "maint-guide-vi" / "png300" / f"page_{number:02d}.png"),
                      cv2.IMREAD_GRAYSCALE)


def turn(image: np.ndarray, clockwise_deg: float) -> np.ndarray:
    """`image` turned clockwise on screen by `clockwise_deg` about its centre, same size; the
    corners uncovered repeat the edge (paper margin). Independent of the code under test."""
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), -clockwise_deg, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def uneven_light(grey: np.ndarray, seed: int = 500400) -> np.ndarray:
    """The page under a room's light: a gradient across it, a soft-edged shadow over a third of
    it (45% darker) and sensor noise."""
    h, w = grey.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 0.95 - 0.2 * xx / w - 0.1 * yy / h
    light *= 1 - 0.45 / (1 + np.exp(-(xx + 0.6 * yy - 0.9 * w) / (0.03 * w)))
    noise = np.random.default_rng(seed).normal(0, 2.0, grey.shape).astype(np.float32)
    return np.clip(grey * light * 0.95 + noise, 0, 255).astype(np.uint8)


def paper_mask(clean: np.ndarray) -> np.ndarray:
    """Where the clean rendered page is blank paper, at least a few pixels from any ink."""
    return cv2.erode((clean >= 250).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0


def tile_paper_levels(grey: np.ndarray, tile: int = 64) -> np.ndarray:
    """Each tile's paper brightness (its 80th percentile: text covers less than a fifth of a
    tile), over the page without its outer 5%."""
    h, w = grey.shape
    my, mx = h // 20, w // 20
    core = grey[my : h - my, mx : w - mx]
    levels = [np.percentile(core[y : y + tile, x : x + tile], 80)
              for y in range(0, core.shape[0] - tile + 1, tile)
              for x in range(0, core.shape[1] - tile + 1, tile)]
    return np.array(levels, np.float32)


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def cer(hypothesis: str, truth: str) -> float:
    """Character error rate after collapsing whitespace runs (the shared data README's rule)."""
    return Levenshtein.distance(collapse(hypothesis), collapse(truth)) / len(collapse(truth))


def one_shot(camera):
    """The first capture of a freshly made camera, which is then closed."""
    camera.start()
    try:
        return camera.capture()
    finally:
        camera.close()
