"""`sohoa process`: simulated photos to masters, OCR text, JSON records and one PDF/A."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import cv2
import pikepdf
import pytest
from click.testing import CliRunner
from PIL import Image

from device.capture.simulated import SimulatedCamera
from device.cli.main import cli

# Portrait at 3/4 of the sensor: about 195 dpi on the page, enough for Tesseract.
RESOLUTION = (2280, 3042)
KEYS = {"page_quad", "dpi", "qc", "ocr", "timings_ms"}


def _words(text: str) -> set[str]:
    return {w for w in unicodedata.normalize("NFC", text).split() if len(w) >= 4 and w.isalpha()}


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> tuple[list[Path], list[str]]:
    folder = tmp_path_factory.mktemp("photos")
    camera = SimulatedCamera(seed=5, resolution=RESOLUTION)
    camera.start()
    paths, texts = [], []
    for i in range(2):
        capture = camera.capture()
        path = folder / f"shot{i}.jpg"
        cv2.imwrite(str(path), capture.image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        paths.append(path)
        texts.append(capture.ground_truth.text)
    camera.close()
    return paths, texts


def _sohoa(tmp_path: Path, *args) -> object:
    config = tmp_path / "none.toml"
    config.write_text("", encoding="utf-8")
    return CliRunner().invoke(cli, ["--data", str(tmp_path / "data"), "--config", str(config),
                                    "process", *map(str, args)], catch_exceptions=False)


def test_two_photos_give_masters_text_records_and_one_pdf(tmp_path, photos):
    paths, texts = photos
    out, pdf = tmp_path / "out", tmp_path / "all.pdf"
    result = _sohoa(tmp_path, *paths, "--out", out, "--pdf", pdf, "--jobs", "2")
    assert result.exit_code == 0, result.output
    for path, truth in zip(paths, texts):
        stem = path.stem
        assert (out / f"{stem}.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
        record = json.loads((out / f"{stem}.json").read_text(encoding="utf-8"))
        assert KEYS <= set(record)
        assert len(record["page_quad"]) == 4 and 150 < record["dpi"] < 250
        assert {"engine", "model_sha256", "mean_confidence"} <= set(record["ocr"])
        assert all({"key", "flagged", "score", "reason_key"} <= set(f) for f in record["qc"])
        text = (out / f"{stem}.txt").read_text(encoding="utf-8")
        assert text == unicodedata.normalize("NFC", text)
        assert len(_words(text) & _words(truth)) >= 5
    with pikepdf.open(pdf) as document:
        assert len(document.pages) == 2


def test_a_garbage_input_is_reported_and_the_good_one_still_written(tmp_path, photos):
    good = photos[0][0]
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\n" + b"no pixels here" * 10)
    out = tmp_path / "out"
    result = _sohoa(tmp_path, garbage, good, "--out", out)
    assert result.exit_code != 0
    errors = [line for line in result.stderr.splitlines() if "garbage.png" in line]
    assert len(errors) == 1 and errors[0].startswith("sohoa: error: ")
    assert not list(out.glob("garbage*"))
    assert {p.name for p in out.iterdir()} == {f"{good.stem}.{ext}" for ext in ("jpg", "txt", "json")}


def test_a_pdf_input_gives_one_set_of_outputs_per_page_rendered_at_300_dpi(tmp_path):
    from device.capture.render import render_page

    pages = [Image.fromarray(render_page(text, 200).image) for text in
             ("QUYẾT ĐỊNH\nVề việc thành lập tổ dân phố", "THÔNG BÁO\nKết luận cuộc họp")]
    pdf = tmp_path / "doc.pdf"
    pages[0].save(pdf, save_all=True, append_images=pages[1:], resolution=200.0)
    out = tmp_path / "out"
    result = _sohoa(tmp_path, pdf, "--out", out)
    assert result.exit_code == 0, result.output
    first = (out / "doc.p1.txt").read_text(encoding="utf-8")
    second = (out / "doc.p2.txt").read_text(encoding="utf-8")
    assert "thành lập" in first and "cuộc họp" in second
    assert json.loads((out / "doc.p1.json").read_text(encoding="utf-8"))["dpi"] == 300.0
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp file left


@pytest.mark.parametrize("names", [("a.jpg", "a.png"), ("one/a.jpg", "two/a.jpg"),
                                   ("A.jpg", "sub/a.png")])
def test_inputs_that_would_write_the_same_outputs_are_refused_before_any_work(tmp_path, names):
    paths = []
    for name in names:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (300, 400), "white").save(path)
        paths.append(path)
    out = tmp_path / "out"
    result = _sohoa(tmp_path, *paths, "--out", out)
    assert result.exit_code == 65
    assert str(paths[0]) in result.stderr and str(paths[1]) in result.stderr
    assert "nothing was processed" in result.stderr and not out.exists()
