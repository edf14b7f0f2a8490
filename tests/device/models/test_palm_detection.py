"""Tests of the palm detector: anchors, decoding, NMS, letterboxing, and the real photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from device.models import palm_detection as pd

PHOTOS = "photos"


def test_anchor_layout_matches_mediapipe():
    anchors = pd.palm_anchors()
    assert anchors.shape == (2016, 2)
    # stride 8: 24x24 cells, 2 anchors each; then stride 16: 12x12 cells, 6 anchors each.
    assert np.allclose(anchors[0], [0.5 / 24, 0.5 / 24]) and np.allclose(anchors[1], anchors[0])
    assert np.allclose(anchors[2], [1.5 / 24, 0.5 / 24])
    assert np.allclose(anchors[1152:1158], [0.5 / 12, 0.5 / 12])
    assert np.allclose(anchors[-1], [11.5 / 12, 11.5 / 12])


def test_decode_puts_box_and_keypoints_around_the_anchor():
    raw = np.zeros((2016, 18), np.float32)
    logits = np.full((2016, 1), -20.0, np.float32)
    raw[1152, :4] = [4.0, -2.0, 30.0, 40.0]
    raw[1152, 4:6] = [1.0, 1.0]
    logits[1152] = 3.0
    boxes, scores, kps = pd.decode(raw, logits, 0.5)
    assert len(scores) == 1 and scores[0] == pytest.approx(1 / (1 + np.exp(-3.0)))
    cx, cy = 8.0 + 4.0, 8.0 - 2.0  # anchor (0.5/12 * 192 = 8 px) plus the offset
    assert boxes[0] == pytest.approx([cx - 15, cy - 20, cx + 15, cy + 20])
    assert kps[0, 0] == pytest.approx([9.0, 9.0])


def test_weighted_nms_merges_overlaps_and_keeps_separate_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.9, 0.6, 0.7], np.float32)
    kps = np.zeros((3, 7, 2), np.float32)
    merged = pd.weighted_nms(boxes, scores, kps, 0.3)
    assert [round(s, 2) for _, s, _ in merged] == [0.9, 0.7]
    assert merged[0][0] == pytest.approx([0.4, 0.4, 10.4, 10.4])  # score-weighted mean


def test_letterbox_keeps_aspect_and_reports_the_mapping():
    image = np.full((50, 100, 3), 255, np.uint8)
    tensor, scale, pad_x, pad_y = pd.letterbox(image)
    assert tensor.shape == (192, 192, 3) and tensor.dtype == np.float32
    assert scale == pytest.approx(1.92) and pad_x == 0 and pad_y == 48
    assert tensor[0, 0].max() == 0.0 and tensor[96, 96].min() == pytest.approx(1.0)


@pytest.fixture(scope="module")
def detector():
    pytest.importorskip("ai_edge_litert.interpreter")
    return pd.default_detector()


def test_finds_the_hand_holding_a_card(shared_data, detector):
    image = cv2.imread(str(shared_data / PHOTOS / "holding-with-a-hand.webp"))
    hands = detector(image)
    assert hands and hands[0].score >= 0.6
    x0, y0, x1, y1 = hands[0].box
    # The hand enters from the left edge, below the card (about x 0-370, y 900-1270).
    assert x0 < 100 and 250 < x1 < 500 and 800 < y0 < 1000 and 1150 < y1 < 1400
    assert len(hands[0].keypoints) == 7


@pytest.mark.parametrize(
    "name",
    [
        "a4-on-white-background",
        "inner-lines-dark-background",
        "inner-lines",
        "inner-table",
        "low-contrast",
        "with-graphics",
    ],
)
def test_no_hand_on_photos_without_one(shared_data, detector, name):
    image = cv2.imread(str(shared_data / PHOTOS / f"{name}.webp"))
    assert detector(image) == []


def test_tiles_cover_the_frame_with_overlap():
    tiles = pd._tiles(960, 720, 2, 0.25)
    assert tiles[0] == (0, 0, 960, 720) and len(tiles) == 5
    assert max(x + w for x, y, w, h in tiles) == 960 and max(y + h for x, y, w, h in tiles) == 720
    assert tiles[1][2] > 480  # neighbours overlap


def test_hand_crop_follows_mediapipe_roi_geometry():
    from device.models.hand_landmark import hand_crop_matrix

    # An upright palm (wrist below the middle finger): no rotation, crop 2.6x the box,
    # centred half a box above the palm centre.
    hand = pd.HandDetection(
        (100.0, 100.0, 200.0, 200.0), 0.9, ((150.0, 200.0), (0, 0), (150.0, 100.0)) + ((0, 0),) * 4
    )
    m = hand_crop_matrix(hand)
    centre = m @ np.array([112.0, 112.0, 1.0])
    corner = m @ np.array([0.0, 0.0, 1.0])
    assert centre == pytest.approx([150.0, 100.0])
    assert corner == pytest.approx([150.0 - 130.0, 100.0 - 130.0])


def test_landmark_model_confirms_the_real_hand_and_drops_wood(shared_data, detector):
    from device.models.hand_landmark import hand_presence

    image = cv2.imread(str(shared_data / PHOTOS / "holding-with-a-hand.webp"))
    palm = pd.detect_hands(image, detector.params, detector.runner)[0]
    assert hand_presence(image, palm) >= 0.8
    # Wood grain, the palm detector's favourite false alarm on the simulated desks.
    rng = np.random.default_rng(1)
    rows = cv2.resize(rng.normal(0, 1, (60, 1)).astype(np.float32), (400, 400))
    wood = np.clip(np.stack([40 + 15 * rows, 70 + 20 * rows, 120 + 25 * rows], axis=-1), 0, 255).astype(
        np.uint8
    )
    fake = pd.HandDetection(
        (100.0, 100.0, 300.0, 300.0), 0.6, ((200.0, 300.0), (0, 0), (200.0, 150.0)) + ((0, 0),) * 4
    )
    assert hand_presence(wood, fake) < 0.2
