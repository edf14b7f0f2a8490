"""Tests of the shutter checks: each flags its own defect, clean shots and the real photos pass."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from device.imaging import quality as qc
from device.imaging.quality import QcParams, assess
from tests.device.imaging.conftest import REAL_PHOTOS as REAL

NO_HAND = QcParams(hand_check=False)
REASONS = {"qc.blur", "qc.glare", "qc.cutoff", "qc.skew", "qc.blank", "qc.duplicate", "qc.hand", "qc.no_page"}


def flagged(verdict) -> set[str]:
    return {f.key for f in verdict.flags if f.flagged}


def test_clean_shots_pass(make_shot):
    for seed in range(400, 410):
        verdict = assess(make_shot(seed).image, None, NO_HAND)
        assert verdict.ok, (seed, verdict.reasons)
        assert verdict.page.found


@pytest.mark.parametrize("defect", ["blur", "glare", "cutoff", "skew", "blank"])
def test_each_defect_is_flagged_alone(make_shot, defect):
    for seed in range(500, 506):
        verdict = assess(make_shot(seed, defect).image, None, NO_HAND)
        assert flagged(verdict) == {defect}, (seed, verdict.reasons)
        assert verdict.flag(defect).reason_key == f"qc.{defect}"


def test_duplicate_is_the_same_page_reshot_not_the_next_one(make_shot):
    for seed in range(600, 604):
        first = assess(make_shot(seed).image, None, NO_HAND)
        again = assess(make_shot(seed + 50, content_seed=seed).image, first.fingerprint, NO_HAND)
        other = assess(make_shot(seed + 1).image, first.fingerprint, NO_HAND)
        assert flagged(again) == {"duplicate"}, seed
        assert "duplicate" not in flagged(other), seed
    assert assess(make_shot(1).image, None, NO_HAND).flag("duplicate").note == "no previous shot"


@dataclass(frozen=True)
class FakeHand:
    box: tuple[float, float, float, float]
    score: float


def test_hand_flag_follows_the_detector_and_ignores_tiny_or_distant_palms(make_shot):
    shot = make_shot(700)
    # assess hands the detector the reduced copy (1600x1200 -> 800x600): page corners / 2.
    edge = (shot.corners[0] + shot.corners[3]) / 4  # middle of the page's left side
    x, y = float(edge[0]), float(edge[1])
    on_page = FakeHand((x - 80, y - 80, x + 80, y + 80), 0.8)
    tiny = FakeHand((x, y, x + 16, y + 16), 0.9)  # a printed hand on the page
    centre = shot.corners.mean(axis=0) / 2
    corner = np.array([0.0 if centre[0] > 400 else 740.0, 0.0 if centre[1] > 300 else 540.0])
    far = FakeHand((*corner, *(corner + 60)), 0.9)  # the desk corner farthest from the page
    weak = FakeHand(on_page.box, 0.3)

    def verdict(*hands):
        return assess(shot.image, None, QcParams(), hand_detector=lambda a: list(hands))

    assert flagged(verdict(on_page)) == {"hand"}
    assert verdict(on_page).flag("hand").score == pytest.approx(0.8)
    assert verdict(tiny).ok and verdict(far).ok and verdict(weak).ok and verdict().ok


def test_no_page_is_said_and_other_checks_do_not_guess(make_shot):
    desk = cv2.resize(np.ascontiguousarray(make_shot(21).image[:200, :300]), (1600, 1200))
    verdict = assess(desk, None, NO_HAND)
    assert not verdict.page.found
    assert flagged(verdict) == {"no_page"}
    assert verdict.flag("blank").note == "no page"


def test_paper_running_off_the_edge_without_a_page_found_is_cut_off():
    frame = np.full((600, 800, 3), 60, np.uint8)
    frame[100:600, 200:560] = 235  # a page whose lower half is outside the frame
    flag = qc.check_cutoff(frame, qc.detect_page(np.zeros((600, 800, 3), np.uint8)), None, NO_HAND)
    assert flag.flagged and flag.score > 0.2


def test_blur_measure_is_content_normalised():
    rng = np.random.default_rng(3)
    page = np.full((400, 400), 235, np.uint8)
    for y in range(20, 380, 24):  # text-like strokes at two densities
        for x in range(20, 380 if y < 200 else 120, 7):
            if rng.random() < 0.7:
                page[y : y + 12, x : x + 3] = 30
    sharp_dense, sharp_sparse = qc.reblur_ratio(page[:200]), qc.reblur_ratio(page[200:])
    blurred = qc.reblur_ratio(cv2.GaussianBlur(page[:200], (0, 0), 3))
    assert abs(sharp_dense - sharp_sparse) < 0.1
    assert blurred > NO_HAND.blur_max > sharp_dense


def test_glare_needs_a_blob_not_a_bright_page(make_shot):
    shot = make_shot(800)
    brighter = cv2.convertScaleAbs(shot.image, alpha=1.08)  # overall exposure up, no blob
    assert "glare" not in flagged(assess(brighter, None, NO_HAND))


def test_reason_keys_are_stable_and_checks_never_raise_on_odd_frames():
    for frame in (np.zeros((40, 40, 3), np.uint8), np.full((480, 640), 255, np.uint8)):
        verdict = assess(frame, None, NO_HAND)
        assert {f.reason_key for f in verdict.flags} <= REASONS
        assert verdict.fingerprint and "total" in verdict.timings_ms


def test_fingerprint_and_hamming():
    rng = np.random.default_rng(9)
    first, second = (cv2.resize(rng.integers(0, 255, (16, 16), dtype=np.uint8), (256, 256)) for _ in range(2))
    a, b = qc.fingerprint(first), qc.fingerprint(second)
    nudged = qc.fingerprint(np.roll(first, 2, axis=1))
    assert len(a) == 64 and qc.hamming(a, a) == 0
    assert qc.hamming(a, nudged) < 40 < qc.hamming(a, b)
    assert qc.hamming(a, "00") == 256




@pytest.fixture(scope="module")
def palm_detector():
    pytest.importorskip("ai_edge_litert.interpreter")
    from device.models.palm_detection import default_detector

    return default_detector()


@pytest.mark.parametrize("name", REAL)
def test_real_photos_are_not_blank_or_cut_off_and_only_the_hand_is_a_hand(shared_data, palm_detector, name):
    image = cv2.imread(str(shared_data / "photos" / f"{name}.webp"))
    verdict = assess(image, None, QcParams(), hand_detector=palm_detector)
    found = flagged(verdict)
    assert not found & {"blank", "cutoff", "no_page", "blur", "duplicate"}, verdict.reasons
    assert ("hand" in found) == (name == "holding-with-a-hand")
