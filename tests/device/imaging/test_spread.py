"""Spread splitting: an open register's capture becomes two page quads; single pages are not split."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from device.capture.camera import Capture
from device.capture.sim_spread import SpreadCamera
from device.capture.simulated import SimulatedCamera
from device.imaging.page import PageDetection
from device.imaging.rectify import rectify
from device.imaging.spread import SpreadResult, split_spread
from device.imaging.stages import StageResult
from tests.device.imaging.conftest import REAL_PHOTOS

# One open register per seed, each with something in the way.
SPREADS = [
    (600000, {}, None),
    (600001, {"curl": 2.0}, None),  # a thick register: pages rise steeply out of the gutter
    (600002, {}, {"hand": {"side": "left"}}),  # a hand holds the book open
    (600003, {}, {"hand": {"side": "right"}}),
    (600004, {"curl": 0.5}, {"hand": {"side": "bottom"}}),  # fingers across the gutter's foot
    (600005, {"desk": "grey"}, "glare"),
]


def open_register(seed: int, options: dict, defects: object) -> Capture:
    camera = SpreadCamera(seed=seed, **options)
    camera.start()
    try:
        return camera.capture(defects=defects)  # type: ignore[arg-type]
    finally:
        camera.close()


def single_page(seed: int, defects: object = None, **options: object) -> np.ndarray:
    camera = SimulatedCamera(seed=seed, **options)  # type: ignore[arg-type]
    camera.start()
    try:
        return camera.capture(defects=defects).image  # type: ignore[arg-type]
    finally:
        camera.close()


def gutter_error(result: SpreadResult, truth: np.ndarray) -> float:
    """Largest distance (pixels) from the true gutter's ends to the found fold line."""
    a, b = result.gutter
    normal = np.array([a[1] - b[1], b[0] - a[0]]) / np.linalg.norm(b - a)
    return float(max(abs((p - a) @ normal) for p in truth))


@pytest.mark.parametrize(("seed", "options", "defects"), SPREADS)
def test_open_register_splits_at_the_gutter_into_two_page_quads(seed, options, defects) -> None:
    capture = open_register(seed, options, defects)
    truth = capture.ground_truth.defects["spread"]
    result = split_spread(capture.image)
    assert isinstance(result, StageResult) and result.applied and result.reason == ""
    assert result.image is capture.image and len(result.pages) == 2
    left_true, right_true = (np.array(q) for q in truth["pages"])
    page_width = np.linalg.norm(left_true[1] - left_true[0])
    # Measured: 1-3 px on a ~1650 px page, 25 px with fingers over the gutter's foot.
    assert gutter_error(result, np.array(truth["gutter"])) <= 0.02 * page_width
    for found, true in zip(result.pages, (left_true, right_true)):
        assert found.shape == (4, 2) and found.dtype == np.float32
        diagonal = np.linalg.norm(true[2] - true[0])
        # Measured: at most 2.3% (the raised fore-edges lie outside the pages' flat outline).
        assert np.linalg.norm(found - true, axis=1).max() <= 0.03 * diagonal
    assert 0.4 < result.details["gutter_fraction"] < 0.6
    assert result.details["gutter"] == [[round(float(x), 1), round(float(y), 1)] for x, y in result.gutter]


def test_split_pages_rectify_to_the_right_upright_pages() -> None:
    from rapidfuzz.distance import Levenshtein

    from device.ocr.engine import OcrEngine

    capture = open_register(600001, {}, None)
    result = split_spread(capture.image)
    camera_texts = capture.ground_truth.text
    with OcrEngine() as engine:
        texts = []
        for quad in result.pages:
            page = rectify(capture.image, quad)
            h, w = page.image.shape[:2]
            assert page.applied and abs((h / w) / np.sqrt(2) - 1) < 0.03
            texts.append(engine.recognize(cv2.cvtColor(page.image, cv2.COLOR_BGR2GRAY), dpi=200).text)

    def collapse(text: str) -> str:
        return re.sub(r"\s+", " ", text).strip()

    # Read in order, the two pages give back the spread's text (left page first).
    truth = collapse(camera_texts)
    assert Levenshtein.distance(collapse(texts[0] + "\n" + texts[1]), truth) / len(truth) < 0.03
    assert Levenshtein.distance(collapse(texts[1] + "\n" + texts[0]), truth) / len(truth) > 0.5


def test_the_gutter_is_found_where_it_is_not_assumed_in_the_middle() -> None:
    """Given an outline that also takes in a strip of cover on the left (as a detector might),
    the fold is still found on the gutter, not halfway across the outline."""
    capture = open_register(600003, {}, None)
    truth = np.array(capture.ground_truth.defects["spread"]["gutter"])
    outer = capture.ground_truth.corners_array.copy()
    widen = (outer[1] - outer[0]) * 0.12
    outer[[0, 3]] -= widen
    result = split_spread(capture.image, detection=PageDetection(outer, 0.9, ""))
    assert result.applied
    page_width = float(np.linalg.norm(widen)) / 0.12 / 2
    assert gutter_error(result, truth) <= 0.02 * page_width
    assert result.details["gutter_fraction"] == pytest.approx(0.56, abs=0.02)  # (0.12 + 0.5) / 1.12


def test_uneven_light_and_a_shadow_beside_the_gutter_do_not_move_it() -> None:
    capture = open_register(600002, {}, None)
    truth = np.array(capture.ground_truth.defects["spread"]["gutter"])
    h, w = capture.image.shape[:2]
    gx = float(truth[:, 0].mean())
    x = np.arange(w, dtype=np.float32)
    light = 0.55 + 0.45 * x / w  # a lamp far to the right
    light = np.where(x < gx - 250, light * 0.7, light)  # an arm's shadow ending 3 cm before the gutter
    dim = np.clip(capture.image * light[None, :, None], 0, 255).astype(np.uint8)
    result = split_spread(dim)
    assert result.applied
    page_width = np.linalg.norm(np.subtract(*capture.ground_truth.defects["spread"]["pages"][0][:2]))
    assert gutter_error(result, truth) <= 0.02 * page_width


@pytest.mark.parametrize(("seed", "defects", "options"), [
    (600000, None, {"bound": True}),
    (600001, "hand", {}),
    (600002, None, {"orientation": "landscape", "bound": True, "curl": 2.0}),
    (600003, {"skew": {"angle_deg": 90}}, {"orientation": "landscape"}),  # a page lying sideways: spread-shaped
    (600004, {"skew": {"angle_deg": 88}}, {"orientation": "landscape"}),
])
def test_a_single_page_is_not_split(seed, defects, options) -> None:
    image = single_page(seed, defects, **options)
    result = split_spread(image)
    assert not result.applied and result.reason == "spread.single_page"
    assert result.image is image and result.pages == () and result.gutter is None


def _photos(shared_data: Path) -> list[Path]:
    return [shared_data / "photos" / f"{name}.webp" for name in REAL_PHOTOS] + sorted(
        (shared_data / "dewarp").glob("*.jpg"))


def test_real_photos_of_single_pages_are_not_split(shared_data: Path) -> None:
    """The development photos: documents, an ID card held in a hand, and two curved book pages
    with a sliver of the facing page. None is an open spread."""
    for path in _photos(shared_data):
        image = cv2.cvtColor(np.asarray(Image.open(path).convert("RGB")), cv2.COLOR_RGB2BGR)
        result = split_spread(image)
        assert not result.applied, path.name
        assert result.reason in ("spread.single_page", "spread.no_page"), path.name


def test_the_callers_detection_is_used() -> None:
    capture = open_register(600000, {}, None)
    outer = capture.ground_truth.corners_array
    given = PageDetection(outer, 0.9, "")
    result = split_spread(capture.image, detection=given)
    assert result.applied
    assert np.allclose(result.pages[0][[0, 3]], outer[[0, 3]]) and np.allclose(result.pages[1][[1, 2]], outer[[1, 2]])
    none = split_spread(capture.image, detection=PageDetection(None, 0.0, "page.not_found"))
    assert not none.applied and none.reason == "spread.no_page" and none.details["page_reason"] == "page.not_found"


@pytest.mark.parametrize("bad", [np.zeros((100, 100), np.float32), np.zeros(50, np.uint8), "not an image"])
def test_unusable_input_is_returned_with_a_reason(bad) -> None:
    result = split_spread(bad)
    assert not result.applied and result.reason == "spread.bad_input" and result.image is bad
