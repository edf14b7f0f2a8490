"""Bad input gets a clear message and a non-zero exit, and changes nothing at all."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from tests.conftest import VALID_DOSSIER

CODE = VALID_DOSSIER["fileCode"]


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image: a decompression bomb."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))


def _jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), "white").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _pdf_bytes(**save) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    buffer = io.BytesIO()
    pdf.save(buffer, **save)
    return buffer.getvalue()


def _pdf_with_javascript() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.OpenAction = pdf.make_indirect(pikepdf.Dictionary(
        S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('x')")))
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


BAD_FILES = {
    "empty.png": (lambda: b"", "empty"),
    "notes.jpg": (lambda: "Đây là văn bản, không phải ảnh".encode(), "not a JPEG"),
    "corrupt.jpg": (lambda: b"\xff\xd8\xff\xe0" + b"\x13" * 5000, "damaged"),
    "truncated.jpg": (lambda: _jpeg_bytes()[:1500], "damaged or truncated"),
    "truncated.pdf": (lambda: _pdf_bytes()[:-200], "damaged or truncated"),
    "bomb.png": (lambda: _png_declaring(100_000, 100_000), "megapixels"),
    "large.png": (lambda: _png_declaring(16_000, 14_000), "16000×14000"),
    "secret.pdf": (lambda: _pdf_bytes(encryption=pikepdf.Encryption(owner="o", user="u")),
                   "encrypted"),
    "script.pdf": (_pdf_with_javascript, "JavaScript"),
}


@pytest.fixture
def with_dossier(sohoa, write_json):
    assert sohoa("dossier", "create", "--json", write_json(VALID_DOSSIER)).exit_code == 0
    return sohoa


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_file_is_refused_and_nothing_is_stored(with_dossier, tmp_path, page_png, name):
    make, expected = BAD_FILES[name]
    bad = tmp_path / name
    bad.write_bytes(make())
    before = with_dossier.snapshot()
    # A good file beside the bad one is not imported either: the import is all or nothing.
    result = with_dossier("import", CODE, page_png, bad)
    assert result.exit_code == 65, result.output
    assert expected in result.stderr and name in result.stderr
    assert "nothing was imported" in result.stderr
    assert with_dossier.snapshot() == before


@pytest.mark.parametrize(("payload", "expected"), [
    ('{"fileCode": ', "not valid JSON (line 1"),
    ("[1, 2]", "JSON object"),
    ('{"fileCode": "H49.64.33.2001.2", "title": "x", "maintenance": "01", "mode": "04",'
     ' "language": ["01"], "startDate": "2001"}', "mode"),
    ('{"fileCode": "H49.64.33.2001.2", "title": "x", "maintenance": "01", "mode": "01",'
     ' "language": ["01"], "startDate": "2001-01-01"}', "DD/MM/YYYY"),
])
def test_malformed_or_wrong_json_is_refused_and_nothing_is_stored(sohoa, payload, expected):
    before = sohoa.snapshot()
    result = sohoa("dossier", "create", "--json", "-", stdin=payload)
    assert result.exit_code == 65 and expected in result.stderr
    assert sohoa.snapshot() == before


def test_a_wrong_code_in_an_update_changes_nothing(with_dossier, write_json):
    before = with_dossier.snapshot()
    result = with_dossier("dossier", "set", CODE, "--json", write_json({"format": "04",
                                                                        "title": "mới"}))
    assert result.exit_code == 65 and "format" in result.stderr
    assert with_dossier.snapshot() == before


def test_free_space_below_the_floor_refuses_before_writing(with_dossier, tmp_path, page_png):
    floor = tmp_path / "floor.toml"
    floor.write_text(with_dossier.config.read_text().replace("min_free_mb = 0",
                                                             "min_free_mb = 900000"))
    before = with_dossier.snapshot()
    result = type(with_dossier)(with_dossier.data, floor)("import", CODE, page_png)
    assert result.exit_code == 73 and "free space" in result.stderr
    assert with_dossier.snapshot() == before


def test_a_missing_file_is_named(with_dossier, tmp_path):
    result = with_dossier("import", CODE, tmp_path / "nope.jpg")
    assert result.exit_code == 65 and "nope.jpg" in result.stderr


def test_a_multi_page_tiff_and_pdf_become_one_page_per_frame(with_dossier, tmp_path):
    frames = [Image.new("L", (200, 280), shade) for shade in (255, 200, 150)]
    tiff = tmp_path / "register.tiff"
    frames[0].save(tiff, save_all=True, append_images=frames[1:])
    pdf = tmp_path / "two.pdf"
    document = pikepdf.new()
    document.add_blank_page()
    document.add_blank_page()
    document.save(pdf)
    result = with_dossier.json("import", CODE, tiff, pdf)
    assert [(Path(page["file"]).name, page["frame"]) for page in result["pages"]] == [
        ("register.tiff", 0), ("register.tiff", 1), ("register.tiff", 2),
        ("two.pdf", 0), ("two.pdf", 1)]
    shown = with_dossier.json("dossier", "show", CODE)
    assert shown["numberOfPage"] == 5
    assert shown["documents"][0]["pages"][4]["rawSha256"] == result["pages"][4]["sha256"]


def test_import_appends_to_an_existing_document_and_queues_processing(with_dossier, page_png):
    with_dossier("import", CODE, page_png)
    with_dossier("import", CODE, page_png, "--document", "1")
    shown = with_dossier.json("dossier", "show", CODE)
    assert shown["totalDoc"] == 1 and shown["numberOfPage"] == 2
    import sqlite3
    conn = sqlite3.connect(with_dossier.data / "sohoa.db")
    assert conn.execute("SELECT count(*) FROM jobs WHERE kind = 'process_page' AND state ="
                        " 'queued'").fetchone()[0] == 2
    missing = with_dossier("import", CODE, page_png, "--document", "7")
    assert missing.exit_code == 66


@pytest.mark.parametrize("kind", ["device", "fifo", "symlink-to-device"])
def test_special_files_are_refused_without_reading_them(with_dossier, tmp_path, kind):
    import os

    if kind == "device":
        special = Path("/dev/zero")
    elif kind == "fifo":
        special = tmp_path / "pipe"
        os.mkfifo(special)
    else:
        special = tmp_path / "zero.jpg"
        special.symlink_to("/dev/zero")
    before = with_dossier.snapshot()
    result = with_dossier("import", CODE, special)
    assert result.exit_code == 65 and "not a regular file" in result.stderr
    assert with_dossier.snapshot() == before


def test_too_many_frames_and_too_large_pdf_pages_are_refused(with_dossier, tmp_path):
    small = tmp_path / "small.toml"
    small.write_text(with_dossier.config.read_text() + "max_pages_per_file = 2\n"
                     "max_image_megapixels = 10\n")
    limited = type(with_dossier)(with_dossier.data, small)
    frames = [Image.new("L", (20, 20), shade) for shade in (0, 90, 180)]
    tiff = tmp_path / "three.tiff"
    frames[0].save(tiff, save_all=True, append_images=frames[1:])
    pdf = tmp_path / "poster.pdf"
    with pikepdf.new() as document:
        document.add_blank_page(page_size=(3000, 3000))  # 3000 pt = 12500 px at 300 dpi
        document.save(pdf)
    before = with_dossier.snapshot()
    too_many = limited("import", CODE, tiff)
    assert too_many.exit_code == 65 and "has 3 frames; at most 2" in too_many.stderr
    too_big = limited("import", CODE, pdf)
    assert too_big.exit_code == 65 and "over 10 megapixels at 300 dpi" in too_big.stderr
    assert with_dossier.snapshot() == before


@pytest.mark.parametrize("fonds", [{"agencyId": 5}, {"fondsCode": ["P01"]},
                                   {"archiveCode": "G 0 9 / junk"}])
def test_wrong_fonds_keys_are_field_errors_not_crashes(sohoa, write_json, fonds):
    before = sohoa.snapshot()
    result = sohoa("dossier", "create", "--json", write_json({**VALID_DOSSIER, **fonds}))
    assert result.exit_code == 65 and next(iter(fonds)) in result.stderr
    assert "Traceback" not in result.stderr
    assert sohoa.snapshot() == before


def test_a_new_dossier_cannot_silently_change_its_fonds(sohoa, write_json):
    sohoa("dossier", "create", "--json", write_json(VALID_DOSSIER))
    other = {**VALID_DOSSIER, "fileCode": "H49.64.33.2001.161", "archiveCode": "G10"}
    result = sohoa("dossier", "create", "--json", write_json(other))
    assert result.exit_code == 65 and "already has 'G09'" in result.stderr
    assert sohoa.json("dossier", "show", CODE)["archiveCode"] == "G09"
