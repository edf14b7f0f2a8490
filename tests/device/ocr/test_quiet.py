"""Leptonica's harmless layout messages stay out of the journal."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT

# A simulated photo whose rectified page makes Tesseract's layout analysis ask Leptonica to
# clip a box outside the image: Leptonica prints two "Error in ..." lines unless silenced.
SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
from device.capture.simulated import SimulatedCamera
from device.imaging.pipeline import process_image
from device.ocr.engine import OcrEngine
camera = SimulatedCamera(seed=3)
camera.start()
shot = camera.capture()
camera.close()
with OcrEngine() as engine:
    outcome = process_image(shot.image, engine=engine)
print(len(outcome.ocr_result.words))
"""


def test_ocr_of_a_page_prints_no_leptonica_errors():
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(REPO_ROOT)], capture_output=True,
                          text=True, timeout=300, check=True)
    assert int(done.stdout.split()[-1]) > 100  # the page was really read
    assert "Error in" not in done.stderr, done.stderr
