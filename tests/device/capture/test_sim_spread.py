"""The simulated open register: two facing pages where the truth says, a shaded gutter, two pages a shot."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from device.capture.camera import Camera, Capture
from device.capture.render import render_document
from device.capture.sim_spread import SpreadCamera
from device.capture.simulated import SAMPLE_TEXTS

QUARTER = (1014, 760)  # a quarter of the landscape sensor each way: ~50 dpi on the pages
HALF = (2028, 1520)


def shoot(seed: int = 600000, resolution: tuple[int, int] = QUARTER, defects: object = None, **kw: object) -> Capture:
    camera = SpreadCamera(seed=seed, resolution=resolution, **kw)  # type: ignore[arg-type]
    camera.start()
    return camera.capture(defects=defects)  # type: ignore[arg-type]


def mask(shape: tuple[int, ...], quad: np.ndarray, shrink: float = 0.0) -> np.ndarray:
    quad = np.asarray(quad, np.float32)
    quad = quad + (quad.mean(axis=0) - quad) * shrink
    out = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(out, np.round(quad).astype(np.int32), 1)
    return out.astype(bool)


def test_is_a_camera_and_deterministic_per_seed() -> None:
    camera = SpreadCamera(resolution=QUARTER)
    assert isinstance(camera, Camera) and camera.capabilities.max_resolution == QUARTER
    a, b, c = shoot(5), shoot(5), shoot(6)
    assert np.array_equal(a.image, b.image) and a.ground_truth == b.ground_truth
    assert not np.array_equal(a.image, c.image)


@pytest.mark.parametrize("seed", [600000, 600003])
def test_truth_pages_are_where_the_paper_is(seed: int) -> None:
    cap = shoot(seed, HALF, desk="dark")
    spread = cap.ground_truth.defects["spread"]
    grey = cv2.cvtColor(cap.image, cv2.COLOR_BGR2GRAY).astype(float)
    pages = [np.array(q, np.float32) for q in spread["pages"]]
    for quad in pages:
        inner = mask(grey.shape, quad, 0.1)
        assert np.median(grey[inner]) > 150
    # The outer quad in the truth is the union of the two pages.
    outer = np.array(cap.ground_truth.corners, np.float32)
    assert np.allclose(outer, [pages[0][0], pages[1][1], pages[1][2], pages[0][3]], atol=0.05)
    # Across each outer corner, paper inside and the cover or the desk outside.
    centre = outer.mean(axis=0)
    for corner in outer:
        towards = (centre - corner) / np.linalg.norm(centre - corner)
        (xi, yi), (xo, yo) = corner + towards * 12, corner - towards * 12
        assert grey[int(yi), int(xi)] > grey[int(yo), int(xo)] + 40
    # The two pages meet at the gutter.
    top, bottom = np.array(spread["gutter"])
    assert np.linalg.norm(pages[0][1] - top) < 20 and np.linalg.norm(pages[1][3] - bottom) < 20


def test_gutter_is_shaded() -> None:
    cap = shoot(600001, HALF)
    grey = cv2.cvtColor(cap.image, cv2.COLOR_BGR2GRAY).astype(float)
    top, bottom = np.array(cap.ground_truth.defects["spread"]["gutter"])
    left, right = (np.array(q, np.float32) for q in cap.ground_truth.defects["spread"]["pages"])

    def paper_at(point: np.ndarray) -> float:
        x, y = np.round(point).astype(int)
        return float(np.percentile(grey[y - 15 : y + 16, x - 4 : x + 5], 90))

    mid = (top + bottom) / 2
    beside = [(left[0] + left[3]) / 2 * 0.3 + mid * 0.7, (right[1] + right[2]) / 2 * 0.3 + mid * 0.7]
    assert paper_at(mid) < 0.8 * min(paper_at(p) for p in beside)


def test_each_shot_turns_two_pages_and_the_truth_holds_both_texts() -> None:
    camera = SpreadCamera(seed=3, resolution=QUARTER, texts=SAMPLE_TEXTS)
    camera.start()
    first, second = camera.capture(), camera.capture()
    pages = render_document((SAMPLE_TEXTS / "doc_000007.txt").read_text(encoding="utf-8"), dpi=300)
    assert first.ground_truth.source == "doc_000007#p1+doc_000007#p2"
    assert first.ground_truth.text == pages[0].text + "\n" + pages[1].text
    assert first.ground_truth.defects["spread"]["sources"] == ["doc_000007#p1", "doc_000007#p2"]
    assert second.ground_truth.source.startswith("doc_000007#p3+")


def test_pages_are_about_200_dpi_on_the_full_sensor() -> None:
    cap = shoot(600002, None)
    assert cap.image.shape == (3040, 4056, 3)
    assert cap.ground_truth.effective_dpi == pytest.approx(200, rel=0.06)
    assert cap.ground_truth.page_in_frame


def test_a_hand_holds_the_book_open() -> None:
    clean, held = shoot(600004, HALF), shoot(600004, HALF, {"hand": {"side": "right"}})
    assert held.ground_truth.defects["hand"]["side"] == "right"
    x0, y0, x1, y1 = held.ground_truth.defects["hand"]["bbox"]
    right_page = np.array(held.ground_truth.defects["spread"]["pages"][1])
    assert x1 > right_page[:, 0].max() - 50  # at the book's right edge
    diff = np.abs(held.image.astype(int) - clean.image.astype(int)).max(axis=2)
    assert (diff[y0:y1, x0:x1] > 40).mean() > 0.2
