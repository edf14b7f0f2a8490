"""Deskew: the text lines' angle is measured within 0.2° and rotated away; level pages are left alone."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from device.imaging.deskew import DeskewParams, deskew, measure_skew
from device.imaging.page import detect_page
from device.imaging.rectify import rectify
from tests.device.imaging.cleanup_pages import MAINT_PAGES, maint_page, rendered, turn

ANGLES = (-5.0, -3.3, -1.7, -0.45, 0.3, 1.15, 2.6, 4.45, 5.0)
TOLERANCE = 0.2


@pytest.mark.parametrize("angle", ANGLES)
def test_a_rendered_page_turned_by_a_known_angle_is_measured_within_tolerance(angle):
    page = rendered("doc_000019", 200).image
    measured, reason = measure_skew(turn(page, angle))
    assert reason == "" and abs(measured - angle) < TOLERANCE


@pytest.mark.parametrize("angle", (-4.2, 1.7))
def test_deskewed_page_measures_level_afterwards(angle):
    page = rendered("doc_000086", 200).image
    result = deskew(turn(page, angle))
    assert result.applied and abs(result.details["angle"] - angle) < TOLERANCE
    assert result.image.shape == page.shape and result.image.dtype == np.uint8
    after, _ = measure_skew(result.image)
    assert abs(after) < TOLERANCE


@pytest.mark.parametrize("number", MAINT_PAGES[:2])
def test_real_typeset_pages_turned_by_known_angles_are_measured_within_tolerance(shared_data, number):
    page = maint_page(shared_data, number)
    for angle in (-3.75, -0.6, 2.35, 4.9):
        measured, _ = measure_skew(turn(page, angle))
        assert abs(measured - angle) < TOLERANCE, (number, angle, measured)


def test_a_real_phone_photo_turned_by_a_known_angle_changes_by_that_angle(shared_data):
    photo = cv2.imread(str(shared_data / "photos" / "a4-on-white-background.webp"))
    page = rectify(photo, detect_page(photo).quad).image
    before, _ = measure_skew(page)  # whatever the photo's own residual skew is
    for angle in (-2.5, 3.4):
        measured, _ = measure_skew(turn(page, angle))
        assert abs(measured - before - angle) < TOLERANCE


def test_a_colour_page_is_turned_upright_with_paper_in_the_uncovered_corners():
    grey = rendered("doc_000110", 200).image
    paper = np.array([205, 226, 236], np.float32)  # a cream sheet, BGR
    colour = (grey[..., None].astype(np.float32) / 255 * paper).astype(np.uint8)
    result = deskew(turn(colour, 3.0))
    assert result.applied and result.image.shape == colour.shape
    corner = result.image[:20, :20].reshape(-1, 3).astype(np.float32)
    assert np.abs(corner.mean(axis=0) - paper).max() < 6  # paper, not black and not smeared ink


def test_a_level_page_is_returned_as_it_is():
    page = rendered("doc_000019", 200).image
    result = deskew(page)
    assert not result.applied and result.reason == "deskew.level" and result.image is page
    assert abs(result.details["angle"]) < DeskewParams().min_angle_deg


@pytest.mark.parametrize("image", [np.full((600, 420), 240, np.uint8), np.zeros((600, 420, 3), np.uint8)])
def test_a_page_without_text_is_returned_with_a_reason(image):
    result = deskew(image)
    assert not result.applied and result.reason == "deskew.no_text" and result.image is image
    assert result.details == {"angle": None}


def test_an_image_too_small_to_be_a_page_is_returned_with_a_reason():
    tiny = np.zeros((8, 8), np.uint8)
    assert deskew(tiny).reason == "deskew.bad_input" and deskew(tiny).image is tiny
