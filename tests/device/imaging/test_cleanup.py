"""Border crop takes dark desk margins off a page; despeckle removes isolated dots but no tone mark."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from device.capture.simulated import SimulatedCamera
from device.imaging.cleanup import crop_border, despeckle
from device.imaging.rectify import rectify
from device.ocr.engine import OcrEngine
from tests.device.imaging.cleanup_pages import MAINT_PAGES, cer, maint_page, rendered

DPI = 200
PX_PER_MM = DPI / 25.4


@pytest.fixture(scope="module")
def engine() -> OcrEngine:
    with OcrEngine() as loaded:
        yield loaded


def _cream(grey: np.ndarray) -> np.ndarray:
    paper = np.array([205, 226, 236], np.float32)
    return (grey[..., None].astype(np.float32) / 255 * paper).astype(np.uint8)


def test_a_dark_desk_margin_is_cropped_off():
    page = _cream(rendered("doc_000019", DPI).image)
    h, w = page.shape[:2]
    framed = page.copy()
    framed[:, :40] = (40, 60, 90)  # a wooden desk strip on the left
    framed[h - 25 :, :] = (30, 30, 30)  # a dark one along the bottom
    result = crop_border(framed)
    left, top, right, bottom = result.details["crop"]
    # The margin is found on a sampled copy (every 3rd pixel here): up to 2 samples more go.
    assert result.applied and 40 <= left <= 46 and 25 <= bottom <= 31 and top == right == 0
    assert result.image.shape == (h - bottom, w - left, 3)
    grey = cv2.cvtColor(result.image, cv2.COLOR_BGR2GRAY)
    assert grey[:, 0].mean() > 200 and grey[-1].mean() > 200  # paper at the new edges


def test_desk_left_around_a_loosely_fitted_quad_is_cropped_off():
    camera = SimulatedCamera(seed=500007, resolution=(1520, 2028), desk="dark")
    camera.start()
    try:
        capture = camera.capture()
    finally:
        camera.close()
    corners = np.array(capture.ground_truth.corners, np.float32)
    loose = corners + (corners - corners.mean(axis=0)) * 0.02  # 2% too large: desk on every side
    page = rectify(capture.image, loose).image
    result = crop_border(page)
    assert result.applied and min(result.details["crop"]) > 0
    grey = cv2.cvtColor(result.image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    paper = np.percentile(grey, 90)
    for edge in (grey[0], grey[-1], grey[:, 0], grey[:, -1]):
        assert edge.mean() > 0.8 * paper


def test_a_page_without_dark_margins_is_returned_as_it_is():
    page = _cream(rendered("doc_000086", DPI).image)
    result = crop_border(page)
    assert not result.applied and result.reason == "border.none" and result.image is page


def _specked(page: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The page with 200 dust specks 0.13-0.38 mm across (1-3 px squares at 200 dpi), each at
    least 4 mm from any ink (beyond the corners of the square clearance window) and 5 mm from
    each other; their top-left pixels."""
    rng = np.random.default_rng(seed)
    clear = cv2.distanceTransform((page > 128).astype(np.uint8), cv2.DIST_L2, 5) > 4.0 * PX_PER_MM
    grid = round(5 * PX_PER_MM)
    spots = np.argwhere(clear[grid // 2 :: grid, grid // 2 :: grid]) * grid + grid // 2
    centres = spots[rng.choice(len(spots), 200, replace=False)][:, ::-1]  # (x, y)
    out = page.copy()
    for x, y in centres:
        side = int(rng.integers(1, 4))
        out[y : y + side, x : x + side] = int(rng.integers(0, 90))
    return out, centres


def test_isolated_dots_are_removed_and_ocr_recovers(engine):
    page = rendered("doc_000019", DPI)
    specked, centres = _specked(page.image, 500600)
    result = despeckle(specked, dpi=DPI)
    assert result.applied and result.details["specks_px"] >= 200
    assert (result.image[centres[:, 1], centres[:, 0]] > 200).all()  # every speck painted over
    clean_cer = cer(engine.recognize(page.image, dpi=DPI).text, page.text)
    specked_cer = cer(engine.recognize(specked, dpi=DPI).text, page.text)
    cleaned_cer = cer(engine.recognize(result.image, dpi=DPI).text, page.text)
    assert cleaned_cer < specked_cer and cleaned_cer <= clean_cer + 0.003


@pytest.mark.parametrize("dpi", [150, 200, 300])
def test_the_marks_of_vietnamese_letters_are_kept(engine, dpi):
    # Tone marks, the dot below (ạ, ệ, ộ), the dots of i and full stops: none is isolated.
    page = rendered("doc_000086", dpi)
    result = despeckle(page.image, dpi=dpi)
    assert not result.applied and result.reason == "despeckle.none" and result.image is page.image


def test_a_real_typeset_page_loses_no_mark(shared_data):
    for number in MAINT_PAGES[:2]:
        page = maint_page(shared_data, number)
        assert despeckle(page, dpi=300).details["specks_px"] == 0


def test_dots_next_to_text_are_kept(engine):
    page = rendered("doc_000110", DPI)
    marked = page.image.copy()
    ink_y, ink_x = np.nonzero(page.image[400:-400] < 100)
    near = [(int(x) + 4, int(y) + 400 - 8) for x, y in zip(ink_x[::997], ink_y[::997])]
    for x, y in near:
        cv2.circle(marked, (x, y), 1, 0, -1)  # a dot 1 mm or less from a letter, like a tone mark
    result = despeckle(marked, dpi=DPI)
    assert all(result.image[y, x] < 100 for x, y in near)


def test_a_colour_master_is_never_despeckled():
    colour = _cream(rendered("doc_000019", DPI).image)
    result = despeckle(colour, dpi=DPI)
    assert not result.applied and result.reason == "despeckle.bad_input" and result.image is colour
