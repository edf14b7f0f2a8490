"""Thumbnails always show the page's current image: the raw shot turned by its EXIF orientation
(and the operator's turn) while it waits, the master once processed, the new shot after a
retake; the browser must ask again each time, so a cached copy never hides the change."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from device.catalog.pages import rotate_page
from device.db import transaction
from device.db.pages import finish_page, page_by_id, replace_capture
from device.intake import import_files


def _jpeg(path, size, colour, orientation: int | None = None):
    image = Image.new("RGB", size, colour)
    image.paste((0, 0, 0), (0, 0, size[0] // 4, size[1] // 4))  # a dark corner: shows the turn
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(path, "JPEG", quality=90, exif=exif.tobytes())
    return path


def _get(session, page_id, **kwargs):
    with session.get(f"/pages/{page_id}/thumb.jpg", **kwargs) as answer:
        answer.get_data()  # read it all so the file the answer streams from is closed
        return answer


def _shown(session, page_id):
    answer = _get(session, page_id)
    assert answer.status_code == 200
    return answer, Image.open(io.BytesIO(answer.data)).convert("RGB")


def _dark_corner(picture) -> str:
    """Which corner of the picture holds the dark square."""
    w, h = picture.size
    corners = {"top-left": (w // 10, h // 10), "top-right": (w - w // 10, h // 10),
               "bottom-right": (w - w // 10, h - h // 10), "bottom-left": (w // 10, h - h // 10)}
    return min(corners, key=lambda name: sum(picture.getpixel(corners[name])))


def _process(box, page_id, master_bytes):
    master = box.blobs.put(master_bytes)
    with transaction(box.db):
        finish_page(box.db, page_id, master_sha256=master, ocr_image_sha256=None,
                    hocr_sha256=box.blobs.put(b"{}"), dpi=300.0, qc_flags={}, blank=False,
                    text="", confidence=0.0, engine="test", model_sha256="none")


@pytest.fixture
def raw_page(box, dossier_code, tmp_path):
    """A landscape camera JPEG whose EXIF says "turn 90° clockwise to view" (orientation 6)."""
    path = _jpeg(tmp_path / "raw.jpg", (400, 200), (40, 90, 200), orientation=6)
    return import_files(box, dossier_code, [path], actor="test").pages[0]["id"]


def test_a_waiting_page_shows_its_raw_shot_turned_by_exif(login, raw_page):
    _answer, picture = _shown(login("operator"), raw_page)
    assert picture.height > picture.width  # the EXIF turn is applied: upright, not landscape
    assert _dark_corner(picture) == "top-right"  # orientation 6 takes the top-left to top-right


def test_the_thumbnail_changes_when_the_page_is_processed(login, box, raw_page, tmp_path):
    session = login("operator")
    before, raw = _shown(session, raw_page)
    assert "no-cache" in before.headers["Cache-Control"] and before.headers.get("ETag")
    master = _jpeg(tmp_path / "master.jpg", (200, 280), (200, 30, 30)).read_bytes()
    _process(box, raw_page, master)
    after, shown = _shown(session, raw_page)
    assert after.headers["ETag"] != before.headers["ETag"]
    red, green, blue = shown.getpixel((shown.width // 2, shown.height // 2))
    assert red > 150 and blue < 80  # the master's red, not the raw shot's blue
    # a browser asking again with the old ETag gets the new image, not a 304
    again = _get(session, raw_page, headers={"If-None-Match": before.headers["ETag"]})
    assert again.status_code == 200
    unchanged = _get(session, raw_page, headers={"If-None-Match": after.headers["ETag"]})
    assert unchanged.status_code == 304


def test_a_turned_page_shows_the_turn_before_the_worker_redoes_it(login, box, raw_page, tmp_path):
    _process(box, raw_page, _jpeg(tmp_path / "m.jpg", (200, 280), (200, 30, 30)).read_bytes())
    rotate_page(box, raw_page, 90, actor="test")
    _answer, picture = _shown(login("operator"), raw_page)
    assert picture.width > picture.height  # the upright raw shot, turned 90° more
    assert _dark_corner(picture) == "bottom-right"


def test_a_retaken_page_shows_the_new_shot(login, box, dossier_code, raw_page, tmp_path):
    session = login("operator")
    _process(box, raw_page, _jpeg(tmp_path / "m.jpg", (200, 280), (200, 30, 30)).read_bytes())
    first, _ = _shown(session, raw_page)
    retake = import_files(box, dossier_code, [_jpeg(tmp_path / "new.jpg", (200, 300), (30, 160, 40))],
                          actor="test").pages[0]
    with transaction(box.db):
        replace_capture(box.db, raw_page, page_by_id(box.db, retake["id"])["capture_id"])
    second, shown = _shown(session, raw_page)
    assert second.headers["ETag"] != first.headers["ETag"]
    red, green, blue = shown.getpixel((shown.width // 2, shown.height // 2))
    assert green > 120 and red < 80
