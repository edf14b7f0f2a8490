"""The worker: captured and imported pages become processed pages with masters, word boxes and search."""

from __future__ import annotations

import json
import sqlite3

import pytest
from PIL import Image

from device.capture.shoot import shoot
from device.capture.simulated import SimulatedCamera
from device.db.events import events_for
from device.intake import import_files
from device.ocr.engine import OcrEngine
from device.worker import run_once, word_boxes
from device.worker.loop import merge_qc
from tests.conftest import VALID_DOSSIER
from tests.device.cli.conftest import Sohoa

CODE = VALID_DOSSIER["fileCode"]
TEXT = ("ỦY BAN NHÂN DÂN XÃ\n\nQUYẾT ĐỊNH\nVề việc thành lập tổ dân phố Đồng Tâm\n"
        "Điều 1. Thành lập tổ dân phố Đồng Tâm thuộc xã.")


@pytest.fixture(scope="module")
def engine():
    with OcrEngine() as loaded:
        yield loaded


def rendered(folder, name: str = "page.png", text: str = TEXT, dpi: int = 300):
    """A flat rendering of a TT05-style page, as a scanner would give it."""
    from device.capture.render import render_page

    page = render_page(text, dpi)
    path = folder / name
    Image.fromarray(page.image).save(path, dpi=(dpi, dpi))
    return path


def page_row(box, page_id: int) -> dict:
    row = next(box.db.query("SELECT * FROM pages WHERE id = ?", [page_id]))
    return {**row, "qc_flags": json.loads(row["qc_flags"])}


def test_an_imported_page_is_processed_with_verified_blobs_dpi_qc_and_is_found(
        box, dossier_code, tmp_path, config_file, engine):
    report = import_files(box, dossier_code, [rendered(tmp_path)], actor="test")
    page_id = report.pages[0]["id"]
    result = run_once(box, engine)
    assert (result.processed, result.failed) == (1, 0)
    row = page_row(box, page_id)
    assert row["state"] == "processed" and row["error"] is None
    for sha in (row["master_sha256"], row["hocr_sha256"]):
        assert box.blobs.verify(sha)
    assert box.blobs.read(row["master_sha256"])[:3] == b"\xff\xd8\xff"
    assert row["dpi"] == 300.0  # a flat scan keeps the resolution its file declares
    assert {"blur", "glare", "blank"} <= set(row["qc_flags"])
    assert set(row["qc_flags"]["blur"]) == {"flagged", "score", "reason_key", "by"}
    assert row["blank"] == 0 and row["ocr_confidence"] > 50
    assert "tesseract" in row["ocr_engine"] and "vie:" in row["ocr_model_sha256"]
    boxes = word_boxes.decode(box.blobs.read(row["hocr_sha256"]))
    # The OCR image is stored too, and it is the image the word boxes refer to.
    assert box.blobs.verify(row["ocr_image_sha256"])
    with Image.open(box.blobs.path(row["ocr_image_sha256"])) as ocr_image:
        assert ocr_image.size == (boxes["width"], boxes["height"]) and ocr_image.mode == "L"
    assert " ".join(w[0] for w in boxes["words"]) == " ".join(row["ocr_text"].split())
    assert [e["action"] for e in events_for(box.db, "page", page_id)] == ["page.process"]
    found = Sohoa(tmp_path / "data", config_file)("search", "thanh lap", "--json")
    assert [hit["page_id"] for hit in json.loads(found.stdout)] == [page_id]
    assert run_once(box, engine).processed == 0  # nothing left in the queue


def test_pdf_pages_are_rendered_at_300_dpi_in_colour_and_read(box, dossier_code, tmp_path, engine):
    pages = []
    for i, text in enumerate(("THÔNG BÁO\nVề việc họp tổ dân phố", "BIÊN BẢN\nCuộc họp")):
        with Image.open(rendered(tmp_path, f"p{i}.png", text, dpi=200)) as page:
            pages.append(page.convert("RGB"))
    pdf = tmp_path / "two.pdf"
    pages[0].save(pdf, save_all=True, append_images=pages[1:], resolution=200.0)
    report = import_files(box, dossier_code, [pdf], actor="test")
    assert run_once(box, engine).processed == 2
    first, second = (page_row(box, page["id"]) for page in report.pages)
    assert first["dpi"] == second["dpi"] == 300.0
    assert "THÔNG BÁO" in first["ocr_text"] and "BIÊN BẢN" in second["ocr_text"]
    with Image.open(box.blobs.path(first["master_sha256"])) as master:
        assert master.mode == "RGB" and master.width > 2000  # A4 at 300 dpi, not at 200


def test_a_captured_page_keeps_the_shutter_qc_beside_the_pipeline_qc(box, dossier_code):
    def camera():
        cam = SimulatedCamera(seed=4, resolution=(2280, 3042))
        cam.start()
        return cam

    first, again = camera(), camera()  # the same page twice: the shutter calls it a duplicate
    [shot] = shoot(box, first, dossier_code, count=1, actor="test", hand_detector=lambda i: [])
    [repeat] = shoot(box, again, dossier_code, count=1, actor="test", hand_detector=lambda i: [])
    first.close()
    again.close()
    result = run_once(box, processes=1)
    assert (result.processed, result.failed) == (2, 0)
    original, duplicate = page_row(box, shot.page_id), page_row(box, repeat.page_id)
    assert duplicate["qc_flags"]["duplicate"]["flagged"] is True
    assert duplicate["qc_flags"]["duplicate"]["by"] == ["shutter"]
    assert original["qc_flags"]["duplicate"]["flagged"] is False
    # A photo is rectified: its dpi is what the camera resolved on the paper (~195), not 300.
    assert 150 < original["dpi"] < 250
    assert len(original["ocr_text"].split()) > 20
    assert 0 < result.peak_rss_mb < 2048


def test_worker_once_with_two_processes_processes_six_pages_each_once(tmp_path, config_file):
    sohoa = Sohoa(tmp_path / "data", config_file)
    sohoa("init")
    (tmp_path / "d.json").write_text(json.dumps(VALID_DOSSIER), encoding="utf-8")
    sohoa("dossier", "create", "--json", tmp_path / "d.json")
    files = [rendered(tmp_path, f"p{i}.png", f"Trang số {i}\nThông báo về việc họp tổ dân phố {i}")
             for i in range(6)]
    assert sohoa("import", CODE, *files).exit_code == 0
    result = sohoa("worker", "--once", "--processes", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("processed 6 pages, 0 failed")
    conn = sqlite3.connect(tmp_path / "data" / "sohoa.db")
    assert conn.execute("SELECT count(*) FROM pages WHERE state = 'processed'").fetchone() == (6,)
    assert conn.execute("SELECT count(*) FROM page_text").fetchone() == (6,)
    assert conn.execute("SELECT object_id, count(*) FROM events WHERE action = 'page.process'"
                        " GROUP BY object_id HAVING count(*) != 1").fetchall() == []
    assert conn.execute("SELECT count(*), max(attempts) FROM jobs WHERE state = 'done'"
                        ).fetchone() == (6, 1)
    conn.close()


def test_a_corrupt_page_fails_alone_with_its_reason_and_the_run_exits_75(tmp_path, config_file):
    config_file.write_text(config_file.read_text() + "\n[jobs]\nmax_attempts = 1\n")
    sohoa = Sohoa(tmp_path / "data", config_file)
    sohoa("init")
    (tmp_path / "d.json").write_text(json.dumps(VALID_DOSSIER), encoding="utf-8")
    sohoa("dossier", "create", "--json", tmp_path / "d.json")
    files = [rendered(tmp_path, f"p{i}.png", f"Biên bản họp số {i}") for i in range(3)]
    imported = json.loads(sohoa("import", CODE, *files, "--json").stdout)
    broken = imported["pages"][1]
    blob = tmp_path / "data" / "blobs" / broken["sha256"][:2] / broken["sha256"]
    blob.write_bytes(b"\x89PNG damaged")
    result = sohoa("worker", "--once", "--processes", "2")
    assert result.exit_code == 75 and "1 pages failed" in result.stderr
    assert result.stdout.startswith("processed 2 pages, 1 failed")
    pages = {p["id"]: p for p in sohoa.json("dossier", "show", CODE)["documents"][0]["pages"]}
    assert pages[broken["id"]]["state"] == "failed"
    assert "IntegrityError" in pages[broken["id"]]["error"] and "corrupt" in pages[broken["id"]]["error"]
    assert [p["state"] for i, p in pages.items() if i != broken["id"]] == ["processed"] * 2


def test_a_page_over_the_pixel_limit_fails_alone_and_the_loop_goes_on(
        tmp_path, box, dossier_code, engine):
    from device.box import Box
    from device.config import load_config

    wide = tmp_path / "wide.png"
    Image.new("L", (2500, 1000), 255).save(wide)  # 2.5 MP, over a 2 MP limit
    fine = tmp_path / "fine.png"
    Image.new("L", (300, 400), 255).save(fine)
    source = box.config.source.read_text()
    loose, strict = tmp_path / "loose.toml", tmp_path / "strict.toml"
    loose.write_text(source + "[jobs]\nmax_attempts = 1\n")
    strict.write_text(source + "max_image_megapixels = 2\n[jobs]\nmax_attempts = 1\n")
    data_dir = box.config.paths.data_dir
    with Box.open(load_config(loose, data_dir, environ={})) as before:
        report = import_files(before, dossier_code, [fine, wide], actor="test")
    with Box.open(load_config(strict, data_dir, environ={})) as limited:  # the limit was lowered
        result = run_once(limited, engine)
    assert (result.processed, result.failed) == (1, 1)
    wide_id = report.pages[1]["id"]
    row = page_row(box, wide_id)
    assert row["state"] == "failed" and "2500×1000 pixels, over the 2 megapixel limit" in row["error"]
    assert page_row(box, report.pages[0]["id"])["state"] == "processed"


def test_shutter_and_pipeline_qc_merge_by_check():
    shutter = [{"key": "duplicate", "flagged": True, "score": 12, "reason_key": "qc.duplicate"},
               {"key": "blur", "flagged": False, "score": 0.1, "reason_key": "qc.blur"}]
    pipeline = [{"key": "duplicate", "flagged": False, "score": -1, "reason_key": "qc.duplicate"},
                {"key": "blur", "flagged": True, "score": 0.4, "reason_key": "qc.blur"},
                {"key": "low_dpi", "flagged": False, "score": 240, "reason_key": "qc.low_dpi"}]
    merged = merge_qc(shutter, pipeline)
    assert merged["duplicate"] == {"flagged": True, "score": 12, "reason_key": "qc.duplicate",
                                   "by": ["shutter"]}
    assert merged["blur"] == {"flagged": True, "score": 0.4, "reason_key": "qc.blur",
                              "by": ["pipeline"]}
    assert merged["low_dpi"]["flagged"] is False and merged["low_dpi"]["by"] == []


def test_a_page_timeout_not_shorter_than_the_lease_is_a_config_error(tmp_path, config_file):
    config_file.write_text(config_file.read_text() + "\n[jobs]\nlease_seconds = 60\n"
                           "[worker]\npage_timeout_seconds = 60\n")
    sohoa = Sohoa(tmp_path / "data", config_file)
    sohoa("init")
    result = sohoa("worker", "--once")
    assert result.exit_code == 78
    assert "jobs.lease_seconds (60)" in result.stderr and "worker.page_timeout_seconds (60)" in result.stderr
