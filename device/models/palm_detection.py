"""Finds palms in a photo with mediapipe's palm detector on LiteRT: letterbox, anchors, decode, NMS.

The model (`data/palm_detection_lite.tflite`, from the mediapipe 0.10.18 wheel, Apache-2.0;
see `data/SOURCES.md`) takes a 192x192 RGB float tensor in [0, 1], letterboxed with zero
borders, and returns 2016 anchors x 18 regressors (box cx, cy, w, h and 7 keypoints x, y,
in 192-px units relative to the anchor centre) plus 2016 logits. Anchor layout, decoding and
NMS follow mediapipe's `palm_detection_cpu.pbtxt` (SsdAnchorsCalculator,
TensorsToDetectionsCalculator, NonMaxSuppressionCalculator with WEIGHTED, IoU 0.3).

A hand at the edge of a 12 MP frame covers few pixels once the whole frame is squeezed into
192 px, so `detect_hands` also runs the model on overlapping tiles and merges the results.
Images are OpenCV-order BGR (or grey) uint8 arrays, like the rest of `device.imaging`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from device.models.runner import ModelRunner, load_model

log = logging.getLogger(__name__)

MODEL_FILE = "palm_detection_lite.tflite"
MODEL_SHA256 = "e9a4aaddf90dda56a87235303cf00e4c2d3fb28725f68fd88772997dac905c18"
INPUT_SIZE = 192
NUM_KEYPOINTS = 7
# SsdAnchorsCalculator options of palm_detection_cpu.pbtxt. With fixed_anchor_size every
# anchor is 1x1, so only the centres matter; two anchors per layer (aspect 1 + interpolated).
ANCHOR_STRIDES = (8, 16, 16, 16)
ANCHORS_PER_LAYER = 2
SCORE_CLIP = 100.0


@dataclass(frozen=True)
class PalmDetectParams:
    """How hard to look for hands; defaults follow mediapipe except where a reason is given."""

    min_score: float = 0.5  # mediapipe's min_score_thresh
    nms_iou: float = 0.3  # mediapipe's min_suppression_threshold
    # The frame is first reduced to this long side: tiles are cut from it, so it bounds the
    # resolution the model ever sees (tile side / 192 ~ 2-3x down-sampling).
    work_long_side: int = 960
    # Tiles per axis (besides the whole frame); 0 runs on the whole frame only.
    tile_grid: int = 2
    tile_overlap: float = 0.25  # fraction of a tile shared with its neighbour
    num_threads: int = 1
    # Second opinion from the hand-landmark model on each palm (see hand_landmark.py): drops
    # wood grain and coffee cups. 0 turns it off.
    min_presence: float = 0.5


@dataclass(frozen=True)
class HandDetection:
    """One palm: box (x0, y0, x1, y1) and 7 keypoints (x, y) in input-image pixels, score in 0..1."""

    box: tuple[float, float, float, float]
    score: float
    keypoints: tuple[tuple[float, float], ...]
    presence: float | None = None  # the landmark model's hand-presence score, when asked


@functools.cache
def palm_anchors() -> np.ndarray:
    """The 2016 anchor centres (x, y), normalised to 0..1, in the model's output order."""
    centres: list[np.ndarray] = []
    layer = 0
    while layer < len(ANCHOR_STRIDES):
        stride = ANCHOR_STRIDES[layer]
        # Consecutive layers with the same stride share one feature map (mediapipe merges them).
        same = sum(1 for s in ANCHOR_STRIDES[layer:] if s == stride)
        side = -(-INPUT_SIZE // stride)
        ys, xs = np.mgrid[0:side, 0:side]
        grid = np.stack([(xs + 0.5) / side, (ys + 0.5) / side], axis=-1).reshape(-1, 1, 2)
        centres.append(np.repeat(grid, same * ANCHORS_PER_LAYER, axis=1).reshape(-1, 2))
        layer += same
    return np.concatenate(centres).astype(np.float32)


def letterbox(image: np.ndarray, size: int = INPUT_SIZE) -> tuple[np.ndarray, float, float, float]:
    """Fit `image` (BGR or grey uint8) into size x size RGB float [0, 1] with zero borders.

    Returns (tensor, scale, pad_x, pad_y): input pixel = (tensor pixel - pad) / scale.
    """
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    h, w = image.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((size, size, 3), np.uint8)
    pad_x, pad_y = (size - nw) // 2, (size - nh) // 2
    canvas[pad_y : pad_y + nh, pad_x : pad_x + nw] = resized
    tensor = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB).astype(np.float32) * np.float32(1 / 255)
    return tensor, scale, float(pad_x), float(pad_y)


def decode(
    raw_boxes: np.ndarray, raw_scores: np.ndarray, min_score: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode the model's outputs into (boxes x0,y0,x1,y1, scores, keypoints Nx7x2) in tensor pixels."""
    raw_boxes = raw_boxes.reshape(-1, 4 + 2 * NUM_KEYPOINTS)
    logits = np.clip(raw_scores.reshape(-1), -SCORE_CLIP, SCORE_CLIP)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = scores >= min_score
    anchors = palm_anchors()[keep] * INPUT_SIZE
    raw = raw_boxes[keep]
    # Regressors are in 192-px units (x/y/w/h_scale 192) relative to a 1x1 anchor, so in
    # tensor pixels they are offsets from the anchor centre.
    centre = anchors + raw[:, 0:2]
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = anchors[:, None, :] + raw[:, 4:].reshape(-1, NUM_KEYPOINTS, 2)
    return boxes, scores[keep], keypoints


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], others[:, 0])
    y0 = np.maximum(box[1], others[:, 1])
    x1 = np.minimum(box[2], others[:, 2])
    y1 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(
    boxes: np.ndarray, scores: np.ndarray, keypoints: np.ndarray, iou: float
) -> list[tuple[np.ndarray, float, np.ndarray]]:
    """mediapipe's WEIGHTED suppression: each cluster (IoU > iou with its best member) becomes the
    score-weighted mean of its boxes and keypoints, keeping the best member's score."""
    order = np.argsort(-scores)
    boxes, scores, keypoints = boxes[order], scores[order], keypoints[order]
    alive = np.ones(len(scores), bool)
    merged = []
    for i in range(len(scores)):
        if not alive[i]:
            continue
        members = alive & (_iou(boxes[i], boxes) > iou)
        members[i] = True
        weights = scores[members][:, None]
        box = (boxes[members] * weights).sum(0) / weights.sum()
        kps = (keypoints[members] * weights[:, :, None]).sum(0) / weights.sum()
        merged.append((box, float(scores[i]), kps))
        alive &= ~members
    return merged


def _tiles(w: int, h: int, grid: int, overlap: float) -> list[tuple[int, int, int, int]]:
    """The whole frame plus grid x grid overlapping windows (x, y, w, h)."""
    windows = [(0, 0, w, h)]
    if grid <= 0:
        return windows
    tw, th = round(w / (grid - (grid - 1) * overlap)), round(h / (grid - (grid - 1) * overlap))
    for row in range(grid):
        for col in range(grid):
            x = round(col * (w - tw) / max(grid - 1, 1))
            y = round(row * (h - th) / max(grid - 1, 1))
            windows.append((x, y, tw, th))
    return windows


class PalmDetector:
    """Callable hand detector: `PalmDetector()(image) -> list[HandDetection]`, palms confirmed
    by the hand-landmark model unless `params.min_presence` is 0.

    Holds LiteRT runners, so build one per process (see `default_detector`)."""

    def __init__(self, params: PalmDetectParams = PalmDetectParams(), runner: ModelRunner | None = None):
        self.params = params
        self.runner = runner or load_model(
            MODEL_FILE, num_threads=params.num_threads, expected_sha256=MODEL_SHA256
        )
        self.verifier = None
        if params.min_presence > 0:
            from device.models.hand_landmark import MODEL_FILE as LM_FILE
            from device.models.hand_landmark import MODEL_SHA256 as LM_SHA

            self.verifier = load_model(LM_FILE, num_threads=params.num_threads, expected_sha256=LM_SHA)

    def __call__(self, image: np.ndarray) -> list[HandDetection]:
        hands = detect_hands(image, self.params, self.runner)
        if self.verifier is None:
            return hands
        return confirm_hands(image, hands, self.params.min_presence, self.verifier)


@functools.cache
def default_detector() -> PalmDetector:
    """The process-wide detector with default parameters (loads the model once)."""
    return PalmDetector()


def _run_window(
    image: np.ndarray, window: tuple[int, int, int, int], runner: ModelRunner, min_score: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y, w, h = window
    tensor, scale, pad_x, pad_y = letterbox(image[y : y + h, x : x + w])
    raw_boxes, raw_scores = runner.run(tensor)
    boxes, scores, kps = decode(raw_boxes, raw_scores, min_score)
    offset = np.array([x, y], np.float32)
    pad = np.array([pad_x, pad_y], np.float32)
    boxes = ((boxes.reshape(-1, 2, 2) - pad) / scale + offset).reshape(-1, 4)
    kps = (kps - pad) / scale + offset
    return boxes, scores, kps


def detect_hands(
    image: np.ndarray, params: PalmDetectParams = PalmDetectParams(), runner: ModelRunner | None = None
) -> list[HandDetection]:
    """Palms in `image` (BGR or grey uint8), best first, in input pixels."""
    runner = runner or default_detector().runner
    h, w = image.shape[:2]
    factor = min(1.0, params.work_long_side / max(h, w))
    small = (
        image
        if factor == 1.0
        else cv2.resize(image, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_AREA)
    )
    parts = [
        _run_window(small, window, runner, params.min_score)
        for window in _tiles(small.shape[1], small.shape[0], params.tile_grid, params.tile_overlap)
    ]
    boxes = np.concatenate([p[0] for p in parts]) / factor
    scores = np.concatenate([p[1] for p in parts])
    kps = np.concatenate([p[2] for p in parts]) / factor
    found = weighted_nms(boxes, scores, kps, params.nms_iou)
    return [
        HandDetection(
            box=tuple(float(v) for v in box),  # type: ignore[arg-type]
            score=score,
            keypoints=tuple((float(px), float(py)) for px, py in k),
        )
        for box, score, k in found
    ]


def confirm_hands(
    image: np.ndarray, hands: list[HandDetection], min_presence: float, runner: ModelRunner
) -> list[HandDetection]:
    """Keep the palms the hand-landmark model also calls a hand, with its score attached."""
    from device.models.hand_landmark import hand_presence

    confirmed = []
    for hand in hands:
        presence = hand_presence(image, hand, runner)
        log.debug("palm %.2f at %s: presence %.3f", hand.score, hand.box, presence)
        if presence >= min_presence:
            confirmed.append(replace(hand, presence=presence))
    return confirmed


HandDetectorFn = Callable[[np.ndarray], list[HandDetection]]
