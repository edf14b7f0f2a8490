"""Illumination flattening: shadows and gradients leave the OCR image's paper uniform, and clean pages read as well."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from device.capture.simulated import SimulatedCamera
from device.imaging.illumination import flatten
from device.imaging.rectify import rectify
from device.ocr.engine import OcrEngine
from tests.device.imaging.cleanup_pages import cer, paper_mask, rendered, tile_paper_levels, uneven_light


@pytest.fixture(scope="module")
def engine() -> OcrEngine:
    with OcrEngine() as loaded:
        yield loaded


def test_a_shadow_and_a_gradient_are_flattened_to_uniform_white_paper():
    clean = rendered("doc_000019", 200).image
    lit = uneven_light(clean)
    paper = paper_mask(clean)
    result = flatten(lit)
    assert result.applied and result.image.shape == clean.shape and result.image.ndim == 2
    before, after = lit[paper].astype(np.float32), result.image[paper].astype(np.float32)
    assert before.std() > 40  # the test page really is unevenly lit
    assert after.std() < 0.05 * before.std() and after.mean() > 250
    assert result.details["paper_min"] < 0.6 * result.details["paper_max"]


def test_a_simulated_photo_with_a_shadow_gets_near_uniform_paper():
    # Seed 500006 puts a soft shadow (30% deep) and a light gradient over the page.
    camera = SimulatedCamera(seed=500006, resolution=(1520, 2028))
    camera.start()
    try:
        capture = camera.capture()
    finally:
        camera.close()
    page = rectify(capture.image, np.array(capture.ground_truth.corners, np.float32)).image
    before = tile_paper_levels(cv2.cvtColor(page, cv2.COLOR_BGR2GRAY))
    after = tile_paper_levels(flatten(page).image)
    assert before.max() - before.min() > 30  # the paper's brightness varies across the page
    assert after.std() < 0.2 * before.std() and after.max() - after.min() < 10


def test_flattening_restores_what_uneven_light_took_from_ocr(engine):
    page = rendered("doc_000086", 200)
    lit = uneven_light(page.image)
    clean_cer = cer(engine.recognize(page.image, dpi=200).text, page.text)
    lit_cer = cer(engine.recognize(lit, dpi=200).text, page.text)
    flat_cer = cer(engine.recognize(flatten(lit).image, dpi=200).text, page.text)
    assert lit_cer > 0.2  # Tesseract loses the shadowed part
    assert flat_cer < clean_cer + 0.005


@pytest.mark.parametrize("name", ["doc_000019", "doc_000110"])
def test_a_clean_evenly_lit_page_reads_as_well_after_flattening(engine, name):
    page = rendered(name, 200)
    flat = flatten(page.image)
    before = engine.recognize(page.image, dpi=200).text
    after = engine.recognize(flat.image, dpi=200).text
    assert cer(after, page.text) <= cer(before, page.text)
    assert flat.details["paper_noise"] == 0.0  # nothing to whiten: the page is left as it was


def test_the_colour_input_is_not_changed_and_the_ocr_image_is_grey():
    grey = rendered("doc_000110", 200).image
    colour = np.ascontiguousarray(np.stack([grey, grey, grey], axis=2) * np.float32(0.85), dtype=np.uint8)
    kept = colour.copy()
    result = flatten(colour)
    assert result.applied and result.image.ndim == 2 and result.image.shape == grey.shape
    assert np.array_equal(colour, kept)  # the master keeps its own light


def test_an_all_black_frame_is_returned_with_a_reason():
    dark = np.zeros((600, 400, 3), np.uint8)
    result = flatten(dark)
    assert not result.applied and result.reason == "illumination.no_paper" and result.image is dark


def test_something_that_is_not_an_image_is_returned_with_a_reason():
    wrong = np.zeros((600, 400), np.float32)
    result = flatten(wrong)
    assert not result.applied and result.reason == "illumination.bad_input" and result.image is wrong
