"""The SANE driver against SANE's real `test` backend, and a stand-in scanimage for mid-batch errors."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

from device.capture.camera import Camera, CameraError
from device.capture.registry import open_camera
from device.capture.sane import SaneScanner
from device.capture.scanimage import (
    CoverOpenError, FeederEmptyError, PaperJamError, ScannerBusyError, ScannerIOError,
    ScannerNotFoundError, parse_options, scanner_error,
)

needs_scanimage = pytest.mark.skipif(shutil.which("scanimage") is None,
                                     reason="scanimage (Debian sane-utils) is not installed")


@pytest.fixture
def sane_test_backend(tmp_path, monkeypatch) -> None:
    """SANE configured with only its `test` backend (no probing of real scanners, /etc untouched)."""
    config = tmp_path / "sane.d"
    config.mkdir()
    (config / "dll.conf").write_text("test\n")
    monkeypatch.setenv("SANE_CONFIG_DIR", str(config))


def grid_period_px(image: np.ndarray) -> float:
    """The width of one square of the test backend's 10 mm grid, from a row's black/white edges."""
    row = image[image.shape[0] // 4, :, 0].astype(int)
    edges = np.flatnonzero(np.diff(row) != 0)
    return float(np.median(np.diff(edges)))


@needs_scanimage
@pytest.mark.usefixtures("sane_test_backend")
class TestTestBackend:
    def test_a_flatbed_page_has_the_area_at_the_resolution_asked(self):
        scanner = SaneScanner(resolution=300, area_mm=(60.0, 40.0), extra_options=["--test-picture", "Grid"])
        assert isinstance(scanner, Camera)
        scanner.start()
        capture = scanner.capture()
        assert capture.image.dtype == np.uint8
        assert capture.image.shape == (int(40 / 25.4 * 300), int(60 / 25.4 * 300), 3)  # scanners floor
        # The 10 mm grid squares measure 10 mm at 300 dpi: the resolution really reached the scanner.
        assert grid_period_px(capture.image) == pytest.approx(10 / 25.4 * 300, abs=1.5)
        assert capture.metadata["dpi"] == 300 and capture.metadata["source"] == "Flatbed"
        assert scanner.capabilities.is_flat
        assert scanner.preview_frame().shape[1] == 640
        scanner.close()

    def test_the_first_scanner_listed_is_taken_and_its_whole_area_by_default(self):
        scanner = open_camera("sane", resolution=50)
        scanner.start()
        assert scanner.device == "test:0"
        assert scanner.area_mm == (200.0, 200.0)  # the test backend's bed
        assert scanner.capture().image.shape[:2] == (int(200 / 25.4 * 50),) * 2
        assert scanner.capabilities.max_resolution == (int(200 / 25.4 * 50),) * 2

    def test_a_feeder_batch_yields_every_page_then_stops_when_the_feeder_is_empty(self):
        scanner = SaneScanner(resolution=75, source="adf", area_mm=(50.0, 50.0))
        scanner.start()
        assert scanner.source == "Automatic Document Feeder"
        pages = list(scanner.scan_batch())
        assert len(pages) == 10  # the test backend's feeder holds ten sheets
        assert [p.metadata["page"] for p in pages] == list(range(1, 11))
        assert all(p.image.shape == (147, 147, 3) for p in pages)

    def test_a_batch_can_be_limited_to_a_count(self):
        scanner = SaneScanner(resolution=75, source="adf", area_mm=(50.0, 50.0))
        scanner.start()
        assert len(list(scanner.scan_batch(count=3))) == 3

    @pytest.mark.parametrize("status, error, vietnamese", [
        ("SANE_STATUS_JAMMED", PaperJamError, "Kẹt giấy trong khay nạp"),
        ("SANE_STATUS_COVER_OPEN", CoverOpenError, "Nắp máy quét đang mở"),
        ("SANE_STATUS_NO_DOCS", FeederEmptyError, "Hết giấy trong khay nạp"),
        ("SANE_STATUS_DEVICE_BUSY", ScannerBusyError, "Máy quét đang bận"),
        ("SANE_STATUS_IO_ERROR", ScannerIOError, "Mất kết nối với máy quét"),
    ])
    def test_scanner_errors_become_clear_errors_in_both_languages(self, status, error, vietnamese):
        scanner = SaneScanner(resolution=50, extra_options=["--read-return-value", status])
        scanner.start()
        with pytest.raises(error) as raised:
            scanner.capture()
        assert raised.value.message_vi.startswith(vietnamese)
        assert error.sane_status in str(raised.value)

    def test_a_mode_or_resolution_the_scanner_lacks_is_refused_at_start_naming_what_it_offers(self):
        with pytest.raises(CameraError, match="it offers: Gray, Color"):
            SaneScanner(mode="Lineart").start()
        with pytest.raises(CameraError, match="1 to 1200 dpi"):
            SaneScanner(resolution=2400).start()

    def test_an_unknown_device_is_reported_as_not_found(self):
        scanner = SaneScanner(device="test:99")
        with pytest.raises(ScannerNotFoundError):
            scanner.start()


def test_an_error_names_scanimages_status_line_even_when_a_signal_message_follows_it():
    stderr = ("Output format is not set, using pnm as a default.\n"
              "scanimage: sane_read: Error during device I/O\n"
              "scanimage: received signal 13\n"
              "scanimage: trying to stop scanner\n")
    error = scanner_error(stderr, 9)
    assert isinstance(error, ScannerIOError)
    assert "sane_read: Error during device I/O; received signal 13; trying to stop scanner" in str(error)


def test_options_are_read_from_scanimage_listing():
    options = parse_options(
        "Options specific to device `x':\n"
        "    --mode Lineart|Gray|Color [Color]\n"
        "        Selects the scan mode.\n"
        "    --resolution 75|150|300|600dpi [300]\n"
        "    --source Flatbed|ADF Front|ADF Duplex [Flatbed]\n"
        "    --hand-scanner[=(yes|no)] [no]\n"
        "    --three-pass-order RGB|BGR [inactive]\n"
        "    -x 0..215.9mm (in steps of 0.1) [215.9]\n")
    assert options.choices["--resolution"] == ("75", "150", "300", "600")
    assert options.choices["--source"] == ("Flatbed", "ADF Front", "ADF Duplex")
    assert options.ranges["-x"] == (0.0, 215.9)
    assert options.defaults["--mode"] == "Color"
    assert "--three-pass-order" not in options.choices


# -- a stand-in scanimage for what the test backend cannot do --------------------------------

FAKE_SCANIMAGE = '''\
import json, os, sys, time
from pathlib import Path
plan = json.loads(Path(__file__).with_suffix(".json").read_text())
args = sys.argv[1:]
Path(plan["pid_file"]).write_text(str(os.getpid()))
if "--version" in args:
    print("scanimage (sane-backends) 1.1.1-fake; backend version 1.1.1")
elif any(a.startswith("--formatted-device-list") for a in args):
    print("fake:0")
elif "-A" in args:
    print("    --mode Gray|Color [Color]\\n    --resolution 50..600dpi [300]\\n"
          "    --source Flatbed|ADF [Flatbed]\\n    -x 0..210mm [210]\\n    -y 0..297mm [297]")
else:
    pattern = next(a.split("=", 1)[1] for a in args if a.startswith("--batch="))
    for page in range(1, plan["pages"] + 1):
        if page == 2 and plan.get("wait_for"):
            deadline = time.monotonic() + 20
            while not os.path.exists(plan["wait_for"]):
                if time.monotonic() > deadline:
                    sys.stderr.write("scanimage: sane_read: Error during device I/O\\n")
                    sys.exit(9)
                time.sleep(0.02)
        path = pattern % page
        with open(path + ".part", "wb") as out:
            out.write(b"P6\\n8 6\\n255\\n" + bytes([page * 20]) * (8 * 6 * 3))
        os.rename(path + ".part", path)
        print(path, flush=True)
    sys.stderr.write(f"Batch terminated, {plan['pages']} pages scanned\\n")
    sys.stderr.write("scanimage: sane_start: " + plan["end"] + "\\n")
    sys.exit(plan["status"])
'''


@pytest.fixture
def fake_scanimage(tmp_path):
    """Write the stand-in and return a function that sets its plan and gives its path."""
    script = tmp_path / "fake" / "scanimage"
    script.parent.mkdir()
    script.write_text(f"#!{sys.executable}\n{FAKE_SCANIMAGE}")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)

    def plan(pages: int, end: str = "Document feeder out of documents", status: int = 0, **extra) -> Path:
        settings = {"pages": pages, "end": end, "status": status, "pid_file": str(tmp_path / "fake.pid"), **extra}
        script.with_suffix(".json").write_text(json.dumps(settings))
        return script
    return plan


def page_value(capture) -> int:
    return int(capture.image[0, 0, 0]) // 20


def test_a_jam_mid_batch_keeps_the_pages_already_scanned_and_says_what_happened(fake_scanimage):
    scanner = SaneScanner(source="adf", scanimage=fake_scanimage(2, "Document feeder jammed", 6))
    scanner.start()
    pages = []
    with pytest.raises(PaperJamError) as raised:
        for capture in scanner.scan_batch():
            pages.append(capture)
    assert [page_value(p) for p in pages] == [1, 2]
    assert raised.value.message_vi.startswith("Kẹt giấy trong khay nạp")


def test_cover_opened_mid_batch_is_reported_after_the_pages_already_scanned(fake_scanimage):
    scanner = SaneScanner(source="adf", scanimage=fake_scanimage(3, "Scanner cover is open", 8))
    scanner.start()
    batch = scanner.scan_batch()
    assert [page_value(next(batch)) for _ in range(3)] == [1, 2, 3]
    with pytest.raises(CoverOpenError):
        next(batch)


def test_an_empty_feeder_before_the_first_page_is_an_error_not_an_empty_batch(fake_scanimage):
    scanner = SaneScanner(source="adf", scanimage=fake_scanimage(0, "Document feeder out of documents", 7))
    scanner.start()
    with pytest.raises(FeederEmptyError):
        list(scanner.scan_batch())


def test_each_page_is_yielded_while_the_scanner_is_still_feeding_the_next(fake_scanimage, tmp_path):
    go = tmp_path / "page-2-may-start"
    scanner = SaneScanner(source="adf", scanimage=fake_scanimage(3, wait_for=str(go)))
    scanner.start()
    batch = scanner.scan_batch()
    first = next(batch)  # the stand-in holds page 2 back until `go` exists: no deadlock means streaming
    assert page_value(first) == 1
    go.touch()
    assert [page_value(p) for p in batch] == [2, 3]


def test_stopping_a_batch_early_ends_scanimage(fake_scanimage, tmp_path):
    scanner = SaneScanner(source="adf", scanimage=fake_scanimage(3, wait_for=str(tmp_path / "never")))
    scanner.start()
    batch = scanner.scan_batch()
    next(batch)
    pid = int((tmp_path / "fake.pid").read_text())
    batch.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # terminated and reaped


def test_a_missing_scanimage_is_a_clear_error(tmp_path):
    with pytest.raises(ScannerNotFoundError, match="sane-utils"):
        SaneScanner(scanimage=tmp_path / "no-such-scanimage").start()


def test_capture_before_start_is_refused():
    with pytest.raises(CameraError, match="not started"):
        SaneScanner().capture()
