"""Confirms a palm is a hand with mediapipe's hand-landmark model: the hand-presence score of the palm's crop.

The palm detector alone fires on brown, roundish things (wood grain, a coffee cup: scores
0.5-0.75 on the simulated desks). The landmark model, run on the crop mediapipe itself would
give it, says "no hand" to those (presence <= 0.02) and "hand" to real ones (>= 0.87), for
~3 ms per palm. Crop geometry follows mediapipe's `palm_detection_detection_to_roi.pbtxt`
(rotation from keypoint 0 (wrist) to keypoint 2 (middle finger), target 90 degrees; box
scaled 2.6x, shifted half a box towards the fingers, squared); input 224x224 RGB in [0, 1];
the second output is the presence score (already a probability: `hand_landmark_cpu.pbtxt`
thresholds it at 0.5 without an activation).
"""

from __future__ import annotations

import functools
import logging
import math
from typing import TYPE_CHECKING

import cv2
import numpy as np

from device.models.runner import ModelRunner, load_model

if TYPE_CHECKING:
    from device.models.palm_detection import HandDetection

log = logging.getLogger(__name__)

MODEL_FILE = "hand_landmark_lite.tflite"
MODEL_SHA256 = "048edd3645c9bf7397d19a9f6e3a42957d6e414c9bea6598030a2e9b624156e6"
INPUT_SIZE = 224
ROI_SCALE = 2.6
ROI_SHIFT_Y = -0.5
PRESENCE_OUTPUT = 1  # outputs: landmarks, presence, handedness, world landmarks


@functools.cache
def default_runner() -> ModelRunner:
    return load_model(MODEL_FILE, expected_sha256=MODEL_SHA256)


def hand_crop_matrix(hand: HandDetection) -> np.ndarray:
    """2x3 affine map from the 224x224 crop to image pixels (use with WARP_INVERSE_MAP)."""
    x0, y0, x1, y1 = hand.box
    w, h = x1 - x0, y1 - y0
    (wx, wy), (mx, my) = hand.keypoints[0], hand.keypoints[2]
    rotation = math.pi / 2 - math.atan2(-(my - wy), mx - wx)
    cos, sin = math.cos(rotation), math.sin(rotation)
    # Shift half a box towards the fingers, in the hand's own frame.
    cx = (x0 + x1) / 2 - ROI_SHIFT_Y * h * sin
    cy = (y0 + y1) / 2 + ROI_SHIFT_Y * h * cos
    k = max(w, h) * ROI_SCALE / INPUT_SIZE
    half = INPUT_SIZE / 2
    return np.array(
        [
            [cos * k, -sin * k, cx - (cos - sin) * half * k],
            [sin * k, cos * k, cy - (sin + cos) * half * k],
        ]
    )


def hand_presence(image: np.ndarray, hand: HandDetection, runner: ModelRunner | None = None) -> float:
    """Probability that the palm's crop of `image` (BGR or grey uint8) shows a hand."""
    runner = runner or default_runner()
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    crop = cv2.warpAffine(
        image,
        hand_crop_matrix(hand),
        (INPUT_SIZE, INPUT_SIZE),
        flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
    )
    tensor = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32) * np.float32(1 / 255)
    return float(runner.run(tensor)[PRESENCE_OUTPUT].ravel()[0])
