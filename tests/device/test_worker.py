"""The job loop: imported pages are OCRed and indexed; a failing page is recorded, not fatal."""

from __future__ import annotations

import pikepdf
import pytest
from PIL import Image

from device.db.search import search_pages
from device.intake import import_files
from device.ocr.engine import OcrEngine
from device.worker import run_once


@pytest.fixture(scope="module")
def engine():
    with OcrEngine() as loaded:
        yield loaded


@pytest.fixture
def rendered_page(tmp_path):
    from device.capture.render import render_page

    page = render_page("ỦY BAN NHÂN DÂN XÃ\n\nQUYẾT ĐỊNH\nVề việc thành lập tổ dân phố Đồng Tâm\n"
                       "Điều 1. Thành lập tổ dân phố Đồng Tâm thuộc xã.", 300)
    path = tmp_path / "page.png"
    Image.fromarray(page.image).save(path, dpi=(300, 300))
    pdf_path = tmp_path / "page.pdf"
    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        pdf.save(pdf_path)
    return path, pdf_path


def test_imported_pages_are_read_indexed_and_found_without_tone_marks(
        box, dossier_code, rendered_page, engine):
    image, blank_pdf = rendered_page
    report = import_files(box, dossier_code, [image, blank_pdf], actor="test")
    result = run_once(box, engine)
    assert (result.processed, result.failed) == (2, 0)
    hits = search_pages(box.db, "dong tam")
    assert [hit["page_id"] for hit in hits] == [report.pages[0]["id"]]
    row = next(box.db.query("SELECT state, ocr_engine, ocr_model_sha256, ocr_confidence"
                            " FROM pages WHERE id = ?", [report.pages[0]["id"]]))
    assert row["state"] == "processed" and "vie" in row["ocr_engine"]
    assert "vie:" in row["ocr_model_sha256"] and row["ocr_confidence"] > 50
    assert run_once(box, engine).processed == 0  # nothing left in the queue


def test_a_page_that_cannot_be_read_fails_alone_with_its_reason(
        box, dossier_code, rendered_page, engine):
    image, _ = rendered_page
    other = image.with_name("other.png")
    Image.new("RGB", (400, 560), "white").save(other)
    report = import_files(box, dossier_code, [image, other], actor="test")
    broken = box.blobs.path(report.pages[1]["sha256"])
    broken.write_bytes(b"\x89PNG damaged")
    result = run_once(box, engine)
    assert (result.processed, result.failed) == (1, 1)
    row = next(box.db.query("SELECT state, error FROM pages WHERE id = ?",
                            [report.pages[1]["id"]]))
    assert row["state"] == "failed" and "corrupt" in row["error"]


def test_worker_once_command_exits_non_zero_when_a_page_failed(tmp_path, config_file):
    import json

    from click.testing import CliRunner

    from device.cli.main import cli
    from tests.conftest import VALID_DOSSIER

    base = ["--data", str(tmp_path / "d"), "--config", str(config_file)]
    run = lambda *args: CliRunner().invoke(cli, [*base, *map(str, args)])  # noqa: E731
    run("init")
    (tmp_path / "d.json").write_text(json.dumps(VALID_DOSSIER))
    run("dossier", "create", "--json", tmp_path / "d.json")
    page = tmp_path / "p.png"
    Image.new("RGB", (300, 400), "white").save(page)
    run("import", VALID_DOSSIER["fileCode"], page)
    assert run("worker", "--once").stdout.startswith("processed 1 pages, 0 failed")
    run("import", VALID_DOSSIER["fileCode"], page)
    for blob in (tmp_path / "d" / "blobs").rglob("*"):
        if blob.is_file():
            blob.write_bytes(b"gone")
    failed = run("worker", "--once")
    assert failed.exit_code == 75 and "1 pages failed" in failed.stderr


def test_a_page_over_the_pixel_limit_fails_alone_and_the_loop_goes_on(
        tmp_path, box, dossier_code, engine):
    from device.box import Box
    from device.config import load_config

    wide = tmp_path / "wide.png"
    Image.new("L", (2500, 1000), 255).save(wide)  # 2.5 MP: over twice a 1 MP limit
    fine = tmp_path / "fine.png"
    Image.new("L", (300, 400), 255).save(fine)
    report = import_files(box, dossier_code, [wide, fine], actor="test")
    strict = tmp_path / "strict.toml"
    strict.write_text(box.config.source.read_text() + "max_image_megapixels = 1\n"
                      "[jobs]\nmax_attempts = 1\n")
    with Box.open(load_config(strict, box.config.paths.data_dir, environ={})) as limited:
        result = run_once(limited, engine)
    assert (result.processed, result.failed) == (1, 1)
    row = next(box.db.query("SELECT state, error FROM pages WHERE id = ?",
                            [report.pages[0]["id"]]))
    assert row["state"] == "failed" and "DecompressionBomb" in row["error"]
