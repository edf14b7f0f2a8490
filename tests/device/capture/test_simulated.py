"""Tests of the simulated camera: protocol, determinism, ground truth and each defect."""

from __future__ import annotations


import cv2
import numpy as np
import pytest

from device.capture.camera import Camera, CameraError, Capture
from device.capture.render import render_document
from device.capture.simulated import SAMPLE_TEXTS, SimulatedCamera

SMALL = (760, 1014)  # a quarter of the sensor each way: same optics, ~65 dpi on the page
MEDIUM = (1520, 2028)  # half the sensor: ~130 dpi, enough to see every word


def shoot(defects: object = None, seed: int = 3, resolution: tuple[int, int] = SMALL, **kw: object) -> Capture:
    cam = SimulatedCamera(seed=seed, resolution=resolution, **kw)  # type: ignore[arg-type]
    cam.start()
    return cam.capture(defects=defects)  # type: ignore[arg-type]


def page_mask(capture: Capture, shrink: float = 0.0) -> np.ndarray:
    """The truth quad as a mask, optionally shrunk towards its centre by a fraction."""
    quad = capture.ground_truth.corners_array
    quad = quad + (quad.mean(axis=0) - quad) * shrink
    mask = np.zeros(capture.image.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, quad.astype(np.int32), 1)
    return mask.astype(bool)


def sharpness(capture: Capture) -> float:
    grey = cv2.cvtColor(capture.image, cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F)[page_mask(capture, 0.2)].var())


def test_satisfies_the_camera_protocol() -> None:
    cam = SimulatedCamera(resolution=SMALL)
    assert isinstance(cam, Camera)
    assert cam.capabilities.max_resolution == SMALL and not cam.capabilities.is_flat


def test_same_seed_same_shot_and_other_seed_other_shot() -> None:
    a, b, c = shoot(seed=5), shoot(seed=5), shoot(seed=6)
    assert np.array_equal(a.image, b.image) and a.ground_truth == b.ground_truth
    assert not np.array_equal(a.image, c.image)


@pytest.mark.parametrize("desk", ["wood", "grey", "dark"])
def test_truth_corners_are_where_the_page_is(desk: str) -> None:
    cap = shoot(seed=11, desk=desk)
    grey = cv2.cvtColor(cap.image, cv2.COLOR_BGR2GRAY).astype(float)
    quad = cap.ground_truth.corners_array
    centre = quad.mean(axis=0)
    for corner in quad:
        towards = (centre - corner) / np.linalg.norm(centre - corner)
        inside = corner + towards * 6
        outside = corner - towards * 6
        assert grey[int(inside[1]), int(inside[0])] > grey[int(outside[1]), int(outside[0])] + 25
    level = (np.median(grey[page_mask(cap, 0.3)]) + np.median(grey[~page_mask(cap)])) / 2
    paper = cv2.morphologyEx((grey > level).astype(np.uint8), cv2.MORPH_CLOSE, np.ones((9, 9))).astype(bool)
    overlap = (paper & page_mask(cap)).sum() / page_mask(cap).sum()
    assert overlap > 0.97 and (paper & ~page_mask(cap)).sum() < 0.02 * page_mask(cap).sum()


def test_text_truth_is_what_was_drawn_on_the_page() -> None:
    """Rectify the shot with the truth corners: every word of the truth sits on ink, and the
    page margins are clean. Checks corners, page order and the text together."""
    cam = SimulatedCamera(seed=4, resolution=MEDIUM, curl=0.0, texts=SAMPLE_TEXTS)
    cam.start()
    cap = cam.capture()
    truth = cap.ground_truth
    page = render_document((SAMPLE_TEXTS / "doc_000007.txt").read_text(encoding="utf-8"), dpi=300)[0]
    assert truth.source == "doc_000007#p1" and truth.text == page.text
    h, w = (v // 3 for v in page.image.shape)  # check at 100 dpi: plenty for word boxes
    target = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32) - 0.5
    flat = cv2.warpPerspective(cap.image, cv2.getPerspectiveTransform(truth.corners_array, target), (w, h))
    grey = cv2.cvtColor(flat, cv2.COLOR_BGR2GRAY).astype(float)
    paper = np.median(grey)
    inked = [grey[y0 // 3:-(-y1 // 3), x0 // 3:-(-x1 // 3)].min() < paper - 60 for _, (x0, y0, x1, y1) in page.words]
    assert np.mean(inked) > 0.98
    margin = int(12 / 25.4 * 100)
    for band in (grey[3:margin, 3:-3], grey[-margin:-3, 3:-3], grey[3:-3, 3:margin]):
        assert band.min() > paper - 60


def test_blur_lowers_sharpness() -> None:
    clean = sharpness(shoot(resolution=MEDIUM))
    for kind in ("focus", "motion"):
        assert sharpness(shoot({"blur": {"kind": kind}}, resolution=MEDIUM)) < 0.5 * clean


def test_glare_saturates_part_of_the_page() -> None:
    def saturated(cap: Capture) -> int:
        return int((cap.image.min(axis=2)[page_mask(cap)] >= 250).sum())
    clean, glare = shoot(), shoot("glare")
    assert saturated(clean) == 0
    assert saturated(glare) > 0.002 * page_mask(glare).sum()
    cx, cy = glare.ground_truth.defects["glare"]["center"]
    assert glare.image[int(cy), int(cx)].min() >= 250


@pytest.mark.parametrize("side", ["left", "right", "top", "bottom"])
def test_cutoff_puts_a_corner_outside_the_frame(side: str) -> None:
    cap = shoot({"cutoff": {"side": side}})
    w, h = SMALL
    quad = cap.ground_truth.corners_array
    outside = (quad[:, 0] < 0) | (quad[:, 0] > w - 1) | (quad[:, 1] < 0) | (quad[:, 1] > h - 1)
    assert outside.sum() >= 2 and not cap.ground_truth.page_in_frame
    assert shoot().ground_truth.page_in_frame


def test_skew_angle_is_recorded_and_visible() -> None:
    cap = shoot("skew", seed=8)
    angle = cap.ground_truth.defects["skew"]["angle_deg"]
    assert 8 <= abs(angle) <= 25
    tl, tr = cap.ground_truth.corners_array[:2]
    assert np.degrees(np.arctan2(tr[1] - tl[1], tr[0] - tl[0])) == pytest.approx(angle, abs=1.5)
    grey = cv2.cvtColor(cap.image, cv2.COLOR_BGR2GRAY)
    _, paper = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    contours, _ = cv2.findContours(paper, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    (_, _), (rw, rh), rect_angle = cv2.minAreaRect(max(contours, key=cv2.contourArea))
    seen = rect_angle if rw > rh else rect_angle - 90  # minAreaRect's angle is of its "width" side
    seen = (seen + 45) % 90 - 45
    assert seen == pytest.approx(angle, abs=2.0)


def test_blank_page_has_no_ink() -> None:
    def dark_fraction(cap: Capture) -> float:
        grey = cv2.cvtColor(cap.image, cv2.COLOR_BGR2GRAY).astype(float)
        inner = page_mask(cap, 0.1)
        return float((grey[inner] < np.median(grey[inner]) - 60).mean())
    blank = shoot("blank", resolution=MEDIUM)
    assert blank.ground_truth.text == "" and blank.ground_truth.source == "blank"
    assert dark_fraction(blank) < 0.0005 < 0.01 < dark_fraction(shoot(resolution=MEDIUM))


def test_hand_adds_skin_coloured_pixels_over_the_page() -> None:
    def skin(cap: Capture) -> np.ndarray:
        ycrcb = cv2.cvtColor(cap.image, cv2.COLOR_BGR2YCrCb)
        return cv2.inRange(ycrcb, (40, 138, 80), (255, 175, 125)).astype(bool)
    clean, hand = shoot(desk="grey"), shoot({"hand": {"tone": "medium"}}, desk="grey")
    x0, y0, x1, y1 = hand.ground_truth.defects["hand"]["bbox"]
    added = skin(hand)[y0:y1, x0:x1].sum() - skin(clean)[y0:y1, x0:x1].sum()
    assert added > 0.2 * (x1 - x0) * (y1 - y0)
    assert (skin(hand) & page_mask(hand)).sum() > 200  # the fingers lie on the page


def test_duplicate_reshoots_the_previous_page_in_a_new_pose() -> None:
    cam = SimulatedCamera(seed=2, resolution=SMALL, defects=[None, "duplicate", None])
    cam.start()
    first, again, nxt = cam.capture(), cam.capture(), cam.capture()
    assert again.ground_truth.text == first.ground_truth.text and again.ground_truth.source == first.ground_truth.source
    assert again.ground_truth.defects["duplicate"] == {"of_shot": 0}
    assert not np.allclose(again.ground_truth.corners_array, first.ground_truth.corners_array, atol=1.0)
    assert nxt.ground_truth.source != first.ground_truth.source  # the stack moves on afterwards


def test_effective_dpi_falls_as_the_camera_rises() -> None:
    near = shoot(resolution=None).ground_truth.effective_dpi  # the full 12 MP sensor
    far = shoot(distance=1.5).ground_truth.effective_dpi * 4  # SMALL is a quarter of the sensor
    assert near == pytest.approx(260, rel=0.05)
    assert far == pytest.approx(near / 1.5, rel=0.05)


def test_full_resolution_shot_is_12_megapixels() -> None:
    cam = SimulatedCamera(seed=1)
    cam.start()
    cap = cam.capture("glare")
    assert cap.image.shape == (4056, 3040, 3) and cap.image.dtype == np.uint8
    assert cap.metadata["jpeg_bytes"] > 0 and cap.camera_name == "simulated"


def test_preview_is_small_and_shows_the_next_shot() -> None:
    cam = SimulatedCamera(seed=9, resolution=MEDIUM)
    cam.start()
    frame = cam.preview_frame()
    assert frame.shape == (640, 480, 3)
    shot = cv2.resize(cam.capture().image, (480, 640), interpolation=cv2.INTER_AREA)
    assert np.abs(shot.astype(float) - frame.astype(float)).mean() < 12


def test_schedule_and_bad_requests() -> None:
    cam = SimulatedCamera(seed=1, resolution=SMALL, defects=[None, ("glare", "skew")])
    with pytest.raises(CameraError, match="start"):
        cam.capture()
    cam.start()
    assert cam.capture().ground_truth.defects == {}
    assert set(cam.capture().ground_truth.defects) == {"glare", "skew"}
    with pytest.raises(ValueError, match="unknown defect"):
        SimulatedCamera(defects=["smudge"])
    with pytest.raises(CameraError, match="directory"):
        SimulatedCamera(texts="no/such/folder")
