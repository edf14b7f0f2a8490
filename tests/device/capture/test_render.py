"""Tests of the page renderer: layout, ground truth, pagination, fonts and speed."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pytest

from device.capture import render
from device.capture.doc_header import parse_document, split_doc_type
from device.capture.render import (
    FontNotFoundError, find_font_file, render_blank, render_document, render_page,
)

SAMPLES = Path(render.__file__).parent / "sample_texts"


@pytest.fixture(scope="module")
def ordinance() -> str:
    return (SAMPLES / "doc_000086.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def law_pages() -> list[render.RenderedPage]:
    return render_document((SAMPLES / "doc_000007.txt").read_text(encoding="utf-8"), dpi=150)


def test_page_is_a4_at_the_requested_dpi(ordinance: str) -> None:
    assert render_page(ordinance, dpi=300).image.shape == (3508, 2480)
    page = render_page(ordinance, dpi=150)
    assert page.image.shape == (1754, 1240) and page.image.dtype == np.uint8 and page.dpi == 150


def test_rendering_is_deterministic(ordinance: str) -> None:
    a, b = render_page(ordinance, 150), render_page(ordinance, 150)
    assert np.array_equal(a.image, b.image) and a.text == b.text and a.words == b.words


def test_header_follows_decree_30_order(ordinance: str) -> None:
    lines = render_page(ordinance, 150).text.split("\n")
    assert lines[:4] == ["ỦY BAN THƯỜNG VỤ QUỐC HỘI", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                         "Độc lập - Tự do - Hạnh phúc", "Pháp lệnh số: 09/2025/UBTVQH15"]
    assert lines[4] == "PHÁP LỆNH"
    assert lines[5].startswith("SỬA ĐỔI, BỔ SUNG")


def test_issuer_is_left_and_motto_right_on_the_same_row(ordinance: str) -> None:
    page = render_page(ordinance, 150)
    boxes = dict(page.lines)
    issuer, motto = boxes["ỦY BAN THƯỜNG VỤ QUỐC HỘI"], boxes["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"]
    assert issuer[2] < motto[0]  # issuer ends before the motto starts
    assert abs(issuer[3] - motto[3]) < 10  # same baseline row
    doc_type = boxes["PHÁP LỆNH"]
    assert abs((doc_type[0] + doc_type[2]) / 2 - page.image.shape[1] * (30 + 195) / 2 / 210) < 8  # centred in the text block


def test_text_is_nfc_and_matches_the_words(law_pages: list[render.RenderedPage]) -> None:
    for page in law_pages:
        assert page.text == unicodedata.normalize("NFC", page.text)
        assert page.text.split() == [w for w, _ in page.words]
        assert page.text.split("\n") == [t for t, _ in page.lines]


def test_every_word_box_holds_ink_and_the_margins_hold_none(law_pages: list[render.RenderedPage]) -> None:
    dpi = law_pages[0].dpi
    mm = dpi / 25.4
    for page in law_pages:
        img = page.image
        assert all(img[y0:y1, x0:x1].min() < 100 for _, (x0, y0, x1, y1) in page.words)
        covered = np.zeros(img.shape, bool)
        for _, (x0, y0, x1, y1) in page.words:
            covered[y0:y1, x0:x1] = True
        assert not (img[~covered] < 100)[:].any() or page.page_number == 1  # page 1 has rules
        h, w = img.shape
        margins = [img[: int(8 * mm)], img[h - int(15 * mm):], img[:, : int(15 * mm)], img[:, w - int(8 * mm):]]
        assert all(m.min() == 255 for m in margins)


def test_long_text_is_paginated_without_losing_words(law_pages: list[render.RenderedPage]) -> None:
    assert len(law_pages) > 3
    assert [p.page_number for p in law_pages] == list(range(1, len(law_pages) + 1))
    for page in law_pages[1:]:
        assert page.text.split("\n")[0] == str(page.page_number)  # the page number, top centre
    drawn = [w for i, p in enumerate(law_pages) for w in (p.text.split("\n", 1)[-1] if i else p.text).split()]
    _header, body = parse_document((SAMPLES / "doc_000007.txt").read_text(encoding="utf-8"))
    expected = " ".join(body).split()
    assert drawn[-len(expected):] == expected


def test_blank_page_has_no_ink() -> None:
    page = render_blank(100)
    assert page.text == "" and page.words == [] and page.image.min() == 255


def test_missing_font_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(render, "FONT_DIRS", (str(tmp_path),))
    find_font_file.cache_clear()
    try:
        with pytest.raises(FontNotFoundError, match="fonts-croscore"):
            find_font_file("regular")
    finally:
        find_font_file.cache_clear()


def test_found_font_covers_vietnamese() -> None:
    assert find_font_file("bold").name in ("Tinos-Bold.ttf", "LiberationSerif-Bold.ttf")


@pytest.mark.parametrize(("fragment", "expected"), [
    ("N GHỊ ĐỊNH", ("NGHỊ ĐỊNH", "")),
    ("THÔNG TƯ Sửa đổi, bổ sung", ("THÔNG TƯ", "Sửa đổi, bổ sung")),
    ("Quy định về hạn ngạch", None),
])
def test_document_type_is_found_despite_extraction_noise(fragment: str, expected: tuple[str, str] | None) -> None:
    assert split_doc_type(fragment) == expected


def test_header_fields_are_parsed_from_tabbed_and_stacked_layouts() -> None:
    tabbed, _ = parse_document("CHÍNH PHỦ -------\tCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM Độc lập - Tự do - Hạnh phúc\n"
                               "Số: 1/2026/NĐ-CP\tHà Nội, ngày 2 tháng 3 năm 2026\nNGHỊ ĐỊNH\nVề một việc\nCăn cứ luật;\n")
    assert (tabbed.issuer, tabbed.number, tabbed.place_date, tabbed.doc_type, tabbed.subject) == (
        ("CHÍNH PHỦ",), "Số: 1/2026/NĐ-CP", "Hà Nội, ngày 2 tháng 3 năm 2026", "NGHỊ ĐỊNH", "Về một việc")
    stacked, body = parse_document("BỘ TÀI CHÍNH\nCỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập – Tự do – Hạnh phúc\n"
                                   "Số 06/2026/TT-BTC\nTHÔNG TƯ Sửa đổi một điều\nCăn cứ Luật Hải quan;\nĐiều 1. Sửa\n")
    assert stacked.issuer == ("BỘ TÀI CHÍNH",) and stacked.doc_type == "THÔNG TƯ"
    assert stacked.subject == "Sửa đổi một điều" and body == ["Căn cứ Luật Hải quan;", "Điều 1. Sửa"]
