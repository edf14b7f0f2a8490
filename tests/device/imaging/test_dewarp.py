"""Dewarping: curled bound pages come out with straight text lines and read better; flat pages are left alone."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from rapidfuzz.distance import Levenshtein

from device.capture.simulated import SimulatedCamera
from device.imaging.dewarp import DewarpParams, dewarp, find_text_lines, line_curvatures
from device.imaging.rectify import rectify

SEEDS = (600000, 600001, 600002)
THICK_REGISTER = 2.0  # curl: a 24-40 mm hump beside the spine


def _page(seed: int, shot: int, curl: float) -> tuple[np.ndarray, str]:
    """Shot `shot` of a bound register (0: spine on the left, 1: on the right), rectified with
    the simulator's true corners, and the text printed on it."""
    camera = SimulatedCamera(seed=seed, bound=True, curl=curl)
    camera.start()
    try:
        for _ in range(shot):
            camera.capture()
        capture = camera.capture()
    finally:
        camera.close()
    return rectify(capture.image, capture.ground_truth.corners_array).image, capture.ground_truth.text


@pytest.fixture(scope="module")
def pages() -> dict[tuple[int, int], dict[str, np.ndarray | str]]:
    """For each seed and shot: the same page lying flat and curled like a thick register."""
    out = {}
    for seed in SEEDS:
        for shot in (0, 1):
            flat, text = _page(seed, shot, 0.0)
            curled, same = _page(seed, shot, THICK_REGISTER)
            assert same == text
            out[(seed, shot)] = {"flat": flat, "curled": curled, "text": text}
    return out


def curvature(image: np.ndarray) -> float:
    """Mean over the text lines found afresh in `image` of their bend (pixels)."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    lines = find_text_lines(grey)
    assert lines.count >= 10
    return float(np.mean(line_curvatures(lines))) / lines.scale


def cer(hypothesis: str, truth: str) -> float:
    def collapse(text: str) -> str:
        return re.sub(r"\s+", " ", text).strip()

    return Levenshtein.distance(collapse(hypothesis), collapse(truth)) / len(collapse(truth))


def test_curled_pages_come_out_with_straight_lines(pages) -> None:
    before, after, flat = [], [], []
    for key, page in pages.items():
        result = dewarp(page["curled"])
        assert result.applied and result.reason == "", key
        assert result.image.shape == page["curled"].shape and result.image.dtype == np.uint8
        before.append(curvature(page["curled"]))
        after.append(curvature(result.image))
        flat.append(curvature(page["flat"]))
        assert after[-1] < before[-1], key
        assert result.details["curvature_after_px"] < result.details["curvature_before_px"]
    # Measured afresh on the output: most of the bend is gone, down to what a flat page
    # measures (the centrelines' own noise, ~1.6 px).
    assert np.mean(after) <= 0.4 * np.mean(before)
    assert np.mean(after) <= 1.25 * np.mean(flat)


def test_flat_pages_are_returned_untouched(pages) -> None:
    for key, page in pages.items():
        result = dewarp(page["flat"])
        assert not result.applied and result.reason == "dewarp.flat", key
        assert result.image is page["flat"]
        assert result.details["lines"] >= 20 and result.details["bend_px"] < result.details["char_height_px"] * 0.12


def test_a_turned_flat_page_is_left_for_deskew(pages) -> None:
    """Straight lines at a slant are not a bend: rotation is deskew's job, not dewarp's."""
    flat = pages[(SEEDS[0], 0)]["flat"]
    h, w = flat.shape[:2]
    turned = cv2.warpAffine(flat, cv2.getRotationMatrix2D((w / 2, h / 2), 2.0, 1.0), (w, h),
                            borderMode=cv2.BORDER_REPLICATE)
    result = dewarp(turned)
    assert not result.applied and result.reason == "dewarp.flat"


def test_ocr_reads_a_dewarped_page_about_as_well_as_the_flat_page(pages) -> None:
    from device.ocr.engine import OcrEngine

    page = pages[(SEEDS[1], 1)]  # spine on the right, where the text runs into the curl
    with OcrEngine() as engine:
        def read(image: np.ndarray) -> float:
            return cer(engine.recognize(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dpi=250).text, page["text"])

        flat, curled, dewarped = read(page["flat"]), read(page["curled"]), read(dewarp(page["curled"]).image)
    # Measured: flat 0.8%, curled 17.9%, dewarped 0.8%.
    assert curled > 0.05
    assert dewarped <= 0.25 * curled
    assert dewarped <= flat + 0.01


@pytest.mark.parametrize("name", ["boston_cooking_a.jpg", "linguistics_thesis_a.jpg"])
def test_real_photos_of_curved_book_pages_get_straighter(shared_data: Path, name: str) -> None:
    photo = cv2.imread(str(shared_data / "dewarp" / name))
    result = dewarp(photo)
    assert result.applied
    assert curvature(result.image) <= 0.6 * curvature(photo)


def test_grey_pages_stay_grey(pages) -> None:
    grey = cv2.cvtColor(pages[(SEEDS[2], 1)]["curled"], cv2.COLOR_BGR2GRAY)
    result = dewarp(grey)
    assert result.applied and result.image.shape == grey.shape and result.image.dtype == np.uint8


def test_pages_with_too_little_text_are_returned_with_a_reason() -> None:
    rng = np.random.default_rng(600000)
    blank = np.clip(rng.normal(235, 3, (1400, 1000)), 0, 255).astype(np.uint8)
    assert dewarp(blank).reason == "dewarp.too_few_lines"
    two_lines = blank.copy()
    for y in (300, 360):
        cv2.putText(two_lines, "Quyet dinh so 12/QD-UBND ngay", (80, y), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 30, 2)
    result = dewarp(two_lines)
    assert not result.applied and result.reason == "dewarp.too_few_lines" and result.image is two_lines


@pytest.mark.parametrize("bad", [np.zeros((10, 10), np.uint8), np.zeros((200, 200), np.float32), np.zeros(300, np.uint8)])
def test_unusable_input_is_returned_with_a_reason(bad: np.ndarray) -> None:
    result = dewarp(bad)
    assert not result.applied and result.reason == "dewarp.bad_input" and result.image is bad


def test_an_implausible_field_is_not_applied(pages) -> None:
    page = pages[(SEEDS[0], 1)]["curled"]
    result = dewarp(page, DewarpParams(max_shift_fraction=0.001))
    assert not result.applied and result.reason == "dewarp.implausible" and result.image is page
