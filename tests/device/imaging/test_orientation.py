"""Orientation: pages turned 90, 180 or 270° come back upright; pages without text lines are left alone."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from device.imaging.orientation import orient
from device.imaging.page import detect_page
from device.imaging.rectify import rectify
from tests.device.imaging.cleanup_pages import MAINT_PAGES, TEXTS, maint_page, rendered, turn

#: How a page lies when turned clockwise by this much.
TURNS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def _check_comes_back(page: np.ndarray) -> None:
    for turned, code in TURNS.items():
        result = orient(cv2.rotate(page, code))
        assert result.applied and result.details["turned"] == turned, (turned, result.details)
        assert np.array_equal(result.image, page)  # quarter turns are exact


@pytest.mark.parametrize("name", TEXTS)
def test_rendered_vietnamese_pages_come_back_upright(name):
    _check_comes_back(rendered(name, 200).image)


@pytest.mark.parametrize("number", MAINT_PAGES)
def test_real_typeset_pages_come_back_upright(shared_data, number):
    _check_comes_back(maint_page(shared_data, number))


def test_a_real_phone_photo_of_a_page_comes_back_upright(shared_data):
    photo = cv2.imread(str(shared_data / "photos" / "a4-on-white-background.webp"))
    _check_comes_back(rectify(photo, detect_page(photo).quad).image)


@pytest.mark.parametrize("turned", sorted(TURNS))
def test_a_turned_page_that_is_also_skewed_comes_back_upright(turned):
    skewed = turn(rendered("doc_000086", 200).image, -3.0)
    result = orient(cv2.rotate(skewed, TURNS[turned]))
    assert result.details["turned"] == turned and np.array_equal(result.image, skewed)


def test_a_colour_master_is_turned_whole():
    grey = rendered("doc_000019", 200).image
    colour = cv2.merge([grey, grey, (grey * 0.9).astype(np.uint8)])
    result = orient(cv2.rotate(colour, cv2.ROTATE_90_CLOCKWISE))
    assert result.details["turned"] == 90 and np.array_equal(result.image, colour)


def test_an_upright_page_is_returned_as_it_is():
    page = rendered("doc_000110", 200).image
    result = orient(page)
    assert not result.applied and result.reason == "orientation.upright" and result.image is page
    assert result.details["turned"] == 0 and result.details["updown"] > 0


def test_a_page_of_pictures_is_left_alone_with_a_reason(shared_data):
    # A children's book page: drawings, a few words; no run of text lines to judge by.
    photo = cv2.imread(str(shared_data / "photos" / "with-graphics.webp"))
    page = rectify(photo, detect_page(photo).quad).image
    for image in (page, cv2.rotate(page, cv2.ROTATE_90_CLOCKWISE)):
        result = orient(image)
        assert not result.applied and result.image is image and result.details["turned"] is None
        assert result.reason in ("orientation.no_text_lines", "orientation.unsure")


def test_a_blank_page_is_left_alone_with_a_reason():
    blank = np.full((700, 500, 3), 235, np.uint8)
    result = orient(blank)
    assert not result.applied and result.reason == "orientation.no_text" and result.image is blank
