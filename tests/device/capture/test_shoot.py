"""Shooting pages into a dossier: stored durably with QC and a job, or refused changing nothing."""

from __future__ import annotations

import datetime as dt
import json

import cv2
import numpy as np
import pytest

from device.capture.camera import Camera, CameraCapabilities, CameraError, Capture
from device.capture.shoot import shoot
from device.capture.simulated import SimulatedCamera
from device.db.jobs import job_by_subject
from device.errors import StateError, StorageFullError
from tests.device.cli.conftest import Sohoa

SMALL = (760, 1014)  # a quarter of the sensor each way: QC still sees blur, and it is fast


def no_hands(image: np.ndarray) -> list:
    """A hand detector that never sees one (the real one is exercised by the CLI tests)."""
    return []


@pytest.fixture
def sohoa(box, tmp_path, config_file) -> Sohoa:
    """The `sohoa` command on the same data directory as `box`."""
    return Sohoa(tmp_path / "data", config_file)


@pytest.fixture
def camera():
    cam = SimulatedCamera(seed=4, resolution=SMALL)
    cam.start()
    yield cam
    cam.close()


def take(box, camera, code, count=1, **kw):
    return shoot(box, camera, code, count=count, actor="test", hand_detector=no_hands, **kw)


def test_clean_shots_are_pages_of_one_new_document_with_blobs_and_jobs(box, dossier_code, camera, sohoa):
    results = take(box, camera, dossier_code, count=3)
    assert [r.doc_id for r in results] == [f"{dossier_code}.1"] * 3
    assert all(r.ok for r in results), [r.flags for r in results]
    for r in results:
        assert box.blobs.verify(r.sha256)
        decoded = cv2.imdecode(np.frombuffer(box.blobs.read(r.sha256), np.uint8), cv2.IMREAD_COLOR)
        assert decoded.shape == (SMALL[1], SMALL[0], 3)
        assert job_by_subject(box.db, "process_page", f"page:{r.page_id}")["state"] == "queued"
        assert {"capture_ms", "encode_ms", "qc_ms", "store_ms", "total_ms"} <= set(r.timings_ms)
        qc = json.loads(box.db.conn.execute("SELECT qc FROM captures WHERE id = ?",
                                            (r.capture_id,)).fetchone()[0])
        assert {f["key"] for f in qc["flags"]} >= {"blur", "glare", "cutoff", "skew", "blank", "duplicate"}
        assert set(qc["flags"][0]) == {"key", "flagged", "score", "reason_key"}
    [document] = sohoa.json("dossier", "show", dossier_code)["documents"]
    assert [(p["id"], p["rawSha256"]) for p in document["pages"]] == [(r.page_id, r.sha256) for r in results]
    events = box.db.conn.execute("SELECT count(*) FROM events WHERE action = 'page.capture'").fetchone()[0]
    assert events == 3
    again = take(box, camera, dossier_code)  # a second call starts the next document
    assert again[0].doc_id == f"{dossier_code}.2"


def test_blurred_shot_is_flagged_and_stored_with_its_verdict(box, dossier_code, camera):
    [result] = take(box, camera, dossier_code, defect="blur")
    assert [f.reason_key for f in result.flags] == ["qc.blur"]
    qc = json.loads(box.db.conn.execute("SELECT qc FROM captures WHERE id = ?",
                                        (result.capture_id,)).fetchone()[0])
    assert not qc["ok"] and [f["key"] for f in qc["flags"] if f["flagged"]] == ["blur"]


class BrokenCamera:
    """A camera fake that hands back `frame` (or no Capture at all) after `good` real shots."""

    def __init__(self, frame: object, good: int = 0) -> None:
        self.frame, self.good = frame, good
        self.real = SimulatedCamera(seed=9, resolution=SMALL)

    @property
    def capabilities(self) -> CameraCapabilities:
        return CameraCapabilities("broken", SMALL, False, False, False)

    def start(self) -> None:
        self.real.start()

    def preview_frame(self) -> np.ndarray:
        return np.zeros((480, 640, 3), np.uint8)

    def capture(self) -> Capture:
        if self.good > 0:
            self.good -= 1
            return self.real.capture()
        if isinstance(self.frame, str):  # no Capture at all
            return None  # type: ignore[return-value]
        return Capture(self.frame, dt.datetime.now(dt.timezone.utc), "broken")  # type: ignore[arg-type]

    def close(self) -> None:
        self.real.close()


@pytest.mark.parametrize("frame, message", [
    ("none", "returned no frame"),
    (None, "returned no frame"),
    (np.zeros((1014, 760), np.uint8), r"shape \(1014, 760\)"),
    (np.zeros((1014, 760, 3), np.float32), "float32"),
    (np.zeros((1014, 760, 4), np.uint8), "expected height×width×3 uint8"),
])
def test_a_camera_without_a_proper_frame_stores_nothing(box, dossier_code, sohoa, frame, message):
    cam = BrokenCamera(frame)
    assert isinstance(cam, Camera)
    cam.start()
    before = sohoa.snapshot()
    with pytest.raises(CameraError, match=message):
        take(box, cam, dossier_code)
    assert sohoa.snapshot() == before


def test_a_camera_failing_mid_run_keeps_the_shots_already_stored(box, dossier_code):
    cam = BrokenCamera("none", good=1)
    cam.start()
    with pytest.raises(CameraError):
        take(box, cam, dossier_code, count=3)
    pages = box.db.conn.execute("SELECT count(*) FROM pages").fetchone()[0]
    blobs = list(box.blobs.all_hashes())
    assert pages == 1 and len(blobs) == 1


def approve_dossier(box, code):
    from device.catalog.documents import set_document_fields
    from device.catalog.dossiers import approve, set_dossier_fields

    set_dossier_fields(box, code, {"endDate": "2002", "format": "01",
                                   "paperFileCode": "G09.K1-G2-H3.160"}, actor="test")
    set_document_fields(box, f"{code}.1", {
        "typeName": "02", "issuedDate": "15/09/2001", "organName": "UBND xã Thử",
        "subject": "Về việc thành lập tổ dân phố", "codeNumber": "12",
        "codeNotation": "QĐ-UBND"}, actor="test")
    from device.ocr.engine import OcrEngine
    from device.worker import run_once

    with OcrEngine() as engine:  # approval waits for every page to be read
        run_once(box, engine)
    assert approve(box, code, actor="test") == "approved"


def test_an_approved_dossier_or_a_full_disk_is_refused_before_any_shot(box, dossier_code, camera, sohoa):
    take(box, camera, dossier_code)
    approve_dossier(box, dossier_code)
    before = sohoa.snapshot()
    with pytest.raises(StateError):
        take(box, camera, dossier_code)
    refused = sohoa("capture", "shoot", "--dossier", dossier_code, "--json")
    assert refused.exit_code == 69 and "approved" in refused.stderr and refused.stdout == ""
    assert sohoa.snapshot() == before
    box.blobs.min_free_bytes = box.blobs.free_bytes() + 2**30
    from device.catalog.dossiers import move
    move(box, dossier_code, "reopen", actor="test")
    before = sohoa.snapshot()
    with pytest.raises(StorageFullError):
        take(box, camera, dossier_code)
    assert sohoa.snapshot() == before


def test_cli_unknown_camera_names_the_available_ones(dossier_code, sohoa):
    before = sohoa.snapshot()
    result = sohoa("capture", "shoot", "--dossier", dossier_code, "--camera", "usb")
    assert result.exit_code == 78
    assert "unknown camera 'usb'; available cameras: folder, picamera2, sane, simulated, uvc" in result.stderr
    assert sohoa.snapshot() == before


def test_cli_shoots_full_size_pages_and_prints_each_verdict(dossier_code, sohoa):
    shown = sohoa("capture", "shoot", "--dossier", dossier_code, "--count", "2", "--seed", "3")
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout.splitlines() == ["page 1: ok", "page 2: ok"]
    [blurred] = sohoa.json("capture", "shoot", "--dossier", dossier_code, "--defect", "blur")
    assert blurred["page"] == 3 and blurred["docId"] == f"{dossier_code}.2"
    assert [f["reason_key"] for f in blurred["flags"]] == ["qc.blur"]
    pages = [p["id"] for d in sohoa.json("dossier", "show", dossier_code)["documents"] for p in d["pages"]]
    assert pages == [1, 2, 3]


def test_cli_defect_names_are_the_simulators():
    from device.capture.sim_plan import DEFECTS
    from device.cli.capture_cmds import DEFECTS as CLI_DEFECTS

    assert CLI_DEFECTS == DEFECTS


def test_the_same_page_shot_again_in_a_later_run_is_a_duplicate(box, dossier_code):
    def first_page_camera():
        cam = SimulatedCamera(seed=4, resolution=SMALL)
        cam.start()
        return cam

    first, again = first_page_camera(), first_page_camera()  # both show the same first page
    [shot] = take(box, first, dossier_code)
    assert "qc.duplicate" not in [f.reason_key for f in shot.flags]
    [repeat] = take(box, again, dossier_code)
    assert "qc.duplicate" in [f.reason_key for f in repeat.flags]
    first.close()
    again.close()


def test_shots_can_be_appended_to_an_existing_document(box, dossier_code, camera, sohoa):
    from device.errors import NotFoundError

    take(box, camera, dossier_code, count=2)
    added = take(box, camera, dossier_code, count=2, document=1)
    assert [(r.doc_id, r.position) for r in added] == [(f"{dossier_code}.1", 3), (f"{dossier_code}.1", 4)]
    before = sohoa.snapshot()
    with pytest.raises(NotFoundError, match=rf"{dossier_code}\.9"):
        take(box, camera, dossier_code, document=9)
    assert sohoa.snapshot() == before
