"""`sohoa capture status | target | trigger | shoot` talking to a running capture service."""

from __future__ import annotations

import json

import pytest

from tests.device.capture.conftest import Cable, CabledCamera, running_service, wait_for


@pytest.fixture
def service(box, sohoa):
    """A capture service on the box's socket (a simulated camera at reduced size)."""
    with running_service(box, lambda: CabledCamera(Cable())) as (running, client):
        wait_for(lambda: client.status()["camera"]["available"], "the camera")
        yield running


def test_target_trigger_and_status_go_through_the_service(service, sohoa, dossier_code):
    shown = sohoa("capture", "target", "--dossier", dossier_code)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == f"target: a new document of {dossier_code}, next page 1\n"
    pages = sohoa.json("capture", "trigger", "--count", "2")
    assert [(p["docId"], p["position"]) for p in pages] == [(f"{dossier_code}.1", 1),
                                                            (f"{dossier_code}.1", 2)]
    shown = sohoa("capture", "trigger")
    assert shown.exit_code == 0 and shown.stdout.startswith("page 3: ")
    assert sohoa("capture", "target").stdout == f"target: {dossier_code}.1, next page 4\n"
    status = sohoa("capture", "status")
    assert status.exit_code == 0
    assert "camera: simulated (simulated, 760x1014), available" in status.stdout
    assert "shots: 3" in status.stdout
    assert sohoa.json("capture", "status")["shots"] == 3


def test_capture_shoot_uses_the_service_when_it_runs(service, sohoa, dossier_code):
    sohoa("capture", "target", "--dossier", dossier_code)
    sohoa("capture", "trigger")
    pages = sohoa.json("capture", "shoot", "--dossier", dossier_code, "--count", "2")
    assert [(p["docId"], p["position"]) for p in pages] == [(f"{dossier_code}.2", 1),
                                                            (f"{dossier_code}.2", 2)]
    assert service.status()["shots"] == 3  # taken by the service's camera, not a second one
    before = sohoa.snapshot()
    refused = sohoa("capture", "shoot", "--dossier", dossier_code, "--defect", "blur")
    assert refused.exit_code == 65 and "owns the camera" in refused.stderr
    assert sohoa.snapshot() == before


def test_a_closed_dossier_is_refused_through_the_service(service, sohoa, box, dossier_code):
    from device.catalog.dossiers import move

    move(box, dossier_code, "submit", actor="test")
    before = sohoa.snapshot()
    refused = sohoa("capture", "shoot", "--dossier", dossier_code, "--json")
    assert refused.exit_code == 69 and "reopen it" in refused.stderr and refused.stdout == ""
    refused = sohoa("capture", "target", "--dossier", dossier_code)
    assert refused.exit_code == 69
    assert sohoa.snapshot() == before


def test_without_the_service_the_commands_say_it_is_not_running(sohoa, dossier_code):
    for args in (["capture", "status"], ["capture", "target"], ["capture", "trigger"]):
        result = sohoa(*args)
        assert result.exit_code == 69 and "capture service is not running" in result.stderr, args


def test_conflicting_target_options_are_refused(sohoa, dossier_code):
    result = sohoa("capture", "target", "--dossier", dossier_code, "--document", "1", "--new-document")
    assert result.exit_code == 65 and "not both" in result.stderr
    result = sohoa("capture", "target", "--document", "1")
    assert result.exit_code == 65 and "need --dossier" in result.stderr


def test_status_shows_an_unavailable_camera_and_why(box, sohoa):
    cable = Cable()
    cable.plugged = False
    with running_service(box, lambda: CabledCamera(cable)) as (_, client):
        wait_for(lambda: client.status()["camera"]["reason"] != "the camera is being opened",
                 "a first attempt to open the camera")
        shown = sohoa("capture", "status")
    assert "UNAVAILABLE: camera disconnected" in shown.stdout
    assert json.loads(sohoa("check-config").stdout)["settings"]["capture"]["camera"] == "simulated"


def test_a_spread_target_splits_each_shot_and_flags_a_single_page(service, sohoa, dossier_code):
    shown = sohoa("capture", "target", "--dossier", dossier_code, "--spread")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.endswith(", open register (two pages a shot)\n")
    assert sohoa.json("capture", "target")["layout"] == "spread"
    # This service's camera shows single pages: each shot is one page flagged for a retake.
    [shot] = sohoa.json("capture", "trigger")
    assert shot["pages"] == [shot["page"]] and not shot["ok"]
    assert "qc.spread_not_found" in [flag["reason_key"] for flag in shot["flags"]]
    sohoa("capture", "target", "--dossier", dossier_code)
    assert sohoa.json("capture", "target")["layout"] == "page"
    refused = sohoa("capture", "target", "--spread")
    assert refused.exit_code == 65 and "need --dossier" in refused.stderr
