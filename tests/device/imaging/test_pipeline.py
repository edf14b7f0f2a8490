"""The pipeline with its cleanup stages: better OCR on a shadowed, crooked page; what each stage did is recorded."""

from __future__ import annotations

import dataclasses
import json
import pickle

import cv2
import numpy as np
import pytest

from device.capture.render import RenderedPage
from device.capture.simulated import SimulatedCamera
from device.errors import InputError
from device.imaging.pipeline import OPTIONAL_STAGES, STAGES, PipelineParams, process_image
from device.ocr.engine import OcrEngine
from tests.device.imaging.cleanup_pages import cer, one_shot, rendered, turn

WITHOUT_CLEANUP = PipelineParams(skip=OPTIONAL_STAGES)
IMAGE_STAGES = ("rectify", "dewarp", "border_crop", "orientation", "deskew",
                "illumination", "despeckle")


class CrookedCopyCamera(SimulatedCamera):
    """Photographs pages whose text was printed 3° clockwise of the paper's edges (a crooked
    photocopy): rectification straightens the paper, and the text is still 3° off."""

    def _page(self, key):
        page: RenderedPage = super()._page(key)
        return dataclasses.replace(page, image=turn_on_white(page.image, 3.0))


def turn_on_white(image: np.ndarray, clockwise_deg: float) -> np.ndarray:
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), -clockwise_deg, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)



@pytest.fixture(scope="module")
def engine() -> OcrEngine:
    with OcrEngine() as loaded:
        yield loaded


@pytest.fixture(scope="module")
def crooked_shot():
    """A full 12 MP photo; seed 500006 lays a soft shadow (30% deep) and a gradient over it."""
    return one_shot(CrookedCopyCamera(seed=500006))


@pytest.fixture(scope="module")
def crooked_outcomes(engine, crooked_shot):
    return (process_image(crooked_shot.image, engine=engine),
            process_image(crooked_shot.image, engine=engine, params=WITHOUT_CLEANUP))


def test_a_shadowed_crooked_page_reads_better_with_the_cleanup_stages(crooked_shot, crooked_outcomes):
    cleaned, plain = crooked_outcomes
    truth = crooked_shot.ground_truth.text
    assert cer(cleaned.text, truth) < cer(plain.text, truth)
    assert cleaned.stages["deskew"]["applied"] and abs(cleaned.stages["deskew"]["details"]["angle"] - 3.0) < 0.3
    illumination = cleaned.stages["illumination"]["details"]
    assert illumination["paper_min"] < 0.8 * illumination["paper_max"]  # the shadow was there


def test_each_stage_is_timed_and_each_image_stage_recorded(crooked_outcomes):
    cleaned, plain = crooked_outcomes
    assert [name for name, _ in STAGES] + ["total"] == list(cleaned.timings_ms)
    for name in IMAGE_STAGES:
        assert {"applied", "reason", "details"} == set(cleaned.stages[name])
    assert cleaned.stages["rectify"]["applied"] and cleaned.stages["illumination"]["applied"]
    assert cleaned.stages["dewarp"]["reason"] == "dewarp.flat"  # a crooked copy is not curled
    assert all(plain.stages[name]["reason"] == "pipeline.skipped" for name in OPTIONAL_STAGES)
    record = json.loads(json.dumps(cleaned.as_json()))  # the sidecar JSON holds the stages
    assert record["stages"]["deskew"]["details"]["angle"] == cleaned.stages["deskew"]["details"]["angle"]


def test_the_ocr_image_is_a_grey_png_of_the_masters_geometry(crooked_outcomes):
    cleaned, _ = crooked_outcomes
    master = cv2.imdecode(np.frombuffer(cleaned.master_jpeg, np.uint8), cv2.IMREAD_UNCHANGED)
    ocr_image = cv2.imdecode(np.frombuffer(cleaned.ocr_image_png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert cleaned.ocr_image_png[:8] == b"\x89PNG\r\n\x1a\n"
    assert master.ndim == 3 and ocr_image.ndim == 2 and ocr_image.shape == master.shape[:2]
    assert (cleaned.ocr_result.width, cleaned.ocr_result.height) == (master.shape[1], master.shape[0])


def test_the_outcome_survives_a_trip_between_processes(crooked_outcomes):
    cleaned, _ = crooked_outcomes
    copy = pickle.loads(pickle.dumps(cleaned))
    assert copy.stages == cleaned.stages and copy.ocr_image_png == cleaned.ocr_image_png


def test_a_page_lying_sideways_on_the_desk_comes_out_upright(engine):
    capture = one_shot(SimulatedCamera(seed=500008, resolution=(2280, 3042)))
    sideways = cv2.rotate(capture.image, cv2.ROTATE_90_COUNTERCLOCKWISE)  # text runs bottom to top
    outcome = process_image(sideways, engine=engine)
    master = cv2.imdecode(np.frombuffer(outcome.master_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert outcome.stages["orientation"]["applied"] and outcome.stages["orientation"]["details"]["turned"] == 270
    assert master.shape[0] > master.shape[1]  # portrait, as A4 is
    assert cer(outcome.text, capture.ground_truth.text) < 0.05


def test_a_flat_scan_is_not_rectified_but_turned_and_deskewed(engine):
    page = rendered("doc_000086", 200)
    scan = cv2.rotate(turn(page.image, 2.0), cv2.ROTATE_180)  # laid on the glass upside down, askew
    outcome = process_image(scan, engine=engine, source_dpi=200, flat=True)
    assert outcome.page_quad is None and outcome.dpi == 200
    assert outcome.stages["rectify"]["reason"] == "rectify.flat_source"
    assert outcome.stages["orientation"]["details"]["turned"] == 180
    assert abs(outcome.stages["deskew"]["details"]["angle"] - 2.0) < 0.2
    assert cer(outcome.text, page.text) < 0.02


def test_an_operators_turn_is_applied_after_the_automatic_orientation(engine):
    # A page that orientation leaves as it is (it reads upright) but the operator wants turned,
    # e.g. a landscape table: the master comes out turned by exactly that, not undone.
    page = rendered("doc_000086", 150)
    plain = process_image(page.image, engine=engine, source_dpi=150, flat=True)
    turned = process_image(page.image, engine=engine, source_dpi=150, flat=True, turn=90)
    plain_master, turned_master = (cv2.imdecode(np.frombuffer(o.master_jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
                                   for o in (plain, turned))
    assert turned.stages["operator_turn"] == {"degrees": 90}
    assert turned_master.shape == plain_master.shape[::-1]
    expected = cv2.rotate(plain_master, cv2.ROTATE_90_CLOCKWISE)
    assert np.mean(np.abs(expected.astype(int) - turned_master.astype(int))) < 4
    with pytest.raises(InputError):
        process_image(page.image, engine=engine, turn=45)


def test_only_cleanup_stages_can_be_skipped():
    with pytest.raises(InputError):
        PipelineParams(skip=frozenset({"ocr"}))


def test_a_page_skipping_all_cleanup_still_gives_an_ocr_image(engine):
    page: RenderedPage = rendered("doc_000110", 200)
    outcome = process_image(page.image, engine=engine, params=WITHOUT_CLEANUP, source_dpi=200, flat=True)
    ocr_image = cv2.imdecode(np.frombuffer(outcome.ocr_image_png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(ocr_image, page.image)


def test_curled_pages_of_a_bound_register_are_dewarped_and_read_better(engine):
    with_dewarp, without = [], []
    for seed in (500901, 500903, 500904):  # a thick register (curl 2): lines bow near the spine
        shot = one_shot(SimulatedCamera(seed=seed, bound=True, curl=2.0))
        truth = shot.ground_truth.text
        dewarped = process_image(shot.image, engine=engine)
        curled = process_image(shot.image, engine=engine, params=PipelineParams(skip=frozenset({"dewarp"})))
        assert dewarped.stages["dewarp"]["applied"], (seed, dewarped.stages["dewarp"])
        assert curled.stages["dewarp"]["reason"] == "pipeline.skipped"
        with_dewarp.append(cer(dewarped.text, truth))
        without.append(cer(curled.text, truth))
    assert sum(with_dewarp) < 0.8 * sum(without), (with_dewarp, without)
