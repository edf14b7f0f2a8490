"""Rectification: a simulated shot's page comes out upright, A4-shaped, at the dpi really resolved."""

from __future__ import annotations

import numpy as np
import pytest

from device.capture.simulated import SimulatedCamera
from device.imaging.rectify import flag_low_dpi, rectify

SMALL = (1140, 1521)  # portrait, 3/8 of the sensor: quick, and the geometry is the same


def _shot(distance: float, seed: int = 3):
    camera = SimulatedCamera(seed=seed, resolution=SMALL, distance=distance)
    camera.start()
    try:
        capture = camera.capture()
    finally:
        camera.close()
    return capture.image, capture.ground_truth


@pytest.mark.parametrize("seed", [3, 8])
def test_page_comes_out_upright_a4_at_the_resolved_dpi(seed):
    image, truth = _shot(1.0, seed)
    result = rectify(image, np.array(truth.corners, np.float32))
    assert result.applied and result.reason == ""
    height, width = result.image.shape[:2]
    assert height > width  # portrait page, upright
    assert abs((height / width) / (297 / 210) - 1) < 0.02
    assert abs(result.details["dpi"] / truth.effective_dpi - 1) < 0.05
    assert result.image.dtype == np.uint8 and result.image.shape[2] == 3


def test_farther_camera_reports_lower_dpi_and_never_upsamples():
    near_image, near_truth = _shot(1.0)
    far_image, far_truth = _shot(1.5)
    near = rectify(near_image, np.array(near_truth.corners, np.float32))
    far = rectify(far_image, np.array(far_truth.corners, np.float32))
    assert far.details["dpi"] < 0.8 * near.details["dpi"]
    assert abs(far.details["dpi"] / far_truth.effective_dpi - 1) < 0.05
    # No more pixels out than the page covered in the input.
    quad = np.array(far_truth.corners, np.float32)
    x, y = quad[:, 0], quad[:, 1]
    area = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
    assert far.image.shape[0] * far.image.shape[1] <= area


def test_no_quad_returns_the_input_unchanged_with_a_reason():
    image = np.full((120, 90, 3), 200, np.uint8)
    result = rectify(image, None)
    assert not result.applied and result.image is image and result.reason == "rectify.no_quad"
    flat = rectify(image, np.zeros((4, 2), np.float32))
    assert not flat.applied and flat.image is image and flat.reason == "rectify.bad_quad"


def test_low_dpi_is_flagged_below_the_floor():
    assert flag_low_dpi(150.0).flagged and flag_low_dpi(150.0).reason_key == "qc.low_dpi"
    assert not flag_low_dpi(260.0).flagged
