"""Bad pages through the worker and through `sohoa process`: a clear failure or a sensible empty result."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from click.testing import CliRunner
from PIL import Image

from device.catalog.documents import new_document
from device.catalog.dossiers import load
from device.cli.main import cli
from device.db import transaction
from device.db.jobs import enqueue
from device.db.pages import NewPage, add_pages, record_capture
from device.intake import PROCESS_PAGE
from device.worker import run_once


def _png(width: int, height: int, level: int = 9) -> bytes:
    """A white greyscale PNG, built row by row (a 20000×20000 one is 0.4 MB on disk)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    row = b"\x00" + b"\xff" * width
    packer = zlib.compressobj(level)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def _jpeg(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _page_jpeg() -> bytes:
    from device.capture.render import render_page

    return _jpeg(render_page("QUYẾT ĐỊNH\nVề việc thành lập tổ dân phố", 200).image)


def _blank_page() -> bytes:
    from device.capture.render import render_blank

    return _jpeg(render_blank(200).image)


def _pdf(**save) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    if save.pop("javascript", False):
        pdf.Root.OpenAction = pdf.make_indirect(pikepdf.Dictionary(
            S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('x')")))
    buffer = io.BytesIO()
    pdf.save(buffer, **save)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def bad_pages() -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, media type as a capture would record it)."""
    page = _page_jpeg()
    return {
        "truncated.jpg": (page[: len(page) // 3], "image/jpeg"),
        "cut.png": (_png(400, 300)[:60], "image/png"),
        "garbage.jpg": (b"\xff\xd8\xff\xe0" + b"\x13" * 5000, "image/jpeg"),
        "huge.png": (_png(20_000, 20_000), "image/png"),
        "tiny.png": (_png(1, 1), "image/png"),
        "black.jpg": (_jpeg(np.zeros((1500, 1100, 3), np.uint8)), "image/jpeg"),
        "blank.jpg": (_blank_page(), "image/jpeg"),
    }


FAILS = {"truncated.jpg": "damaged or truncated", "cut.png": "damaged or truncated",
         "garbage.jpg": "damaged or truncated",
         "huge.png": "20000×20000 pixels, over the 200 megapixel limit"}
EMPTY = ("tiny.png", "black.jpg", "blank.jpg")


def _queue_raw(box, file_code: str, items: dict[str, tuple[bytes, str]]) -> dict[str, int]:
    """Pages whose raw bytes got past intake (a camera, an older box): stored and queued as is."""
    dossier = load(box, file_code)
    hashes = {name: box.blobs.put(data) for name, (data, _) in items.items()}
    ids = {}
    with transaction(box.db):
        document_id, _ = new_document(box, dossier, actor="test")
        for name, (_, media_type) in items.items():
            capture = record_capture(box.db, raw_sha256=hashes[name], media_type=media_type,
                                     source="test", dossier_id=dossier["id"], original_name=name)
            [ids[name]] = add_pages(box.db, document_id, capture, [NewPage()])
            enqueue(box.db, PROCESS_PAGE, f"page:{ids[name]}", 1)
    return ids


def test_bad_pages_in_the_worker_fail_clearly_or_come_out_empty_and_blank(
        box, dossier_code, bad_pages):
    ids = _queue_raw(box, dossier_code, bad_pages)
    report = run_once(box, processes=2)
    assert (report.processed, report.failed) == (len(EMPTY), len(FAILS))
    rows = {row["id"]: row for row in box.db.query("SELECT * FROM pages")}
    for name, expected in FAILS.items():
        row = rows[ids[name]]
        assert row["state"] == "failed" and expected in row["error"], (name, row["error"])
        assert "\n" not in row["error"]
    for name in EMPTY:
        row = rows[ids[name]]
        assert (row["state"], row["ocr_text"], row["blank"]) == ("processed", "", 1), name
        assert box.blobs.verify(row["master_sha256"]) and box.blobs.verify(row["hocr_sha256"])


def test_bad_files_in_sohoa_process_get_one_line_each_and_good_ones_their_outputs(
        tmp_path, bad_pages):
    folder = tmp_path / "in"
    folder.mkdir()
    files = {name: data for name, (data, _) in bad_pages.items()}
    files["secret.pdf"] = _pdf(encryption=pikepdf.Encryption(owner="o", user="u"))
    files["script.pdf"] = _pdf(javascript=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    config = tmp_path / "none.toml"
    config.write_text("", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["--data", str(tmp_path / "data"), "--config", str(config),
                                      "process", *sorted(str(folder / n) for n in files),
                                      "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 75
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("sohoa: error: ")]
    expected = {**FAILS, "huge.png": "declares 20000×20000 pixels", "secret.pdf": "encrypted",
                "script.pdf": "contains JavaScript"}
    for name, reason in expected.items():
        mine = [line for line in errors if f"{name}:" in line or f"{name} page" in line]
        assert len(mine) == 1 and reason in mine[0], (name, mine)
    for name in EMPTY:
        stem = Path(name).stem
        assert (out / f"{stem}.txt").read_text(encoding="utf-8") == ""
        assert (out / f"{stem}.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{Path(n).stem}.{ext}" for n in EMPTY for ext in ("jpg", "json", "txt"))
