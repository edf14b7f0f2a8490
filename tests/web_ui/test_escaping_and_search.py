"""Text from paper and people is untrusted: OCR text and metadata holding markup are shown
escaped everywhere; search is accent-insensitive and highlights the words it matched."""

from __future__ import annotations

from device.catalog.dossiers import create_dossier
from device.db import transaction
from device.db.pages import finish_page
from device.db.search import index_page_text
from device.intake import import_files
from tests.conftest import VALID_DOSSIER
from web_ui.search import highlight

SCRIPT = '<script>alert("x")</script>'
OCR_TEXT = f"Quyết định thành lập tổ dân phố {SCRIPT} <img src=x onerror=alert(1)> hết."


def _page_with_text(box, code, page_png, text) -> int:
    """A page whose OCR result is `text`, recorded as the worker records one."""
    page_id = import_files(box, code, [page_png], actor="test").pages[0]["id"]
    sha = box.blobs.put(page_png.read_bytes())
    with transaction(box.db):
        finish_page(box.db, page_id, master_sha256=sha, ocr_image_sha256=None, hocr_sha256=sha,
                    dpi=300.0, qc_flags={}, blank=False, text=text, confidence=90.0,
                    engine="test", model_sha256="0" * 64)
        index_page_text(box.db, page_id, text)
    return page_id


def test_a_title_with_markup_is_shown_escaped(login, box):
    code = create_dossier(box, {**VALID_DOSSIER, "title": f"Hồ sơ {SCRIPT}"}, actor="test")
    session = login("operator")
    for path in ("/", f"/dossiers/{code}", f"/dossiers/{code}/edit", "/capture"):
        page = session.get(path).get_data(as_text=True)
        assert SCRIPT not in page, path
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page, path


def test_ocr_text_with_markup_is_shown_escaped_in_search(login, box, dossier_code, page_png):
    _page_with_text(box, dossier_code, page_png, OCR_TEXT)
    page = login("operator").get("/search", query_string={"q": "quyet dinh"}).get_data(as_text=True)
    assert "<mark>Quyết</mark> <mark>định</mark>" in page  # found without tone marks
    assert SCRIPT not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x" in page


def test_a_search_word_that_is_markup_is_escaped_in_the_highlight(login, box, dossier_code,
                                                                    page_png):
    _page_with_text(box, dossier_code, page_png, OCR_TEXT)
    page = login("operator").get("/search", query_string={"q": "script alert"}).get_data(as_text=True)
    assert "<mark>script</mark>" in page and "<mark>alert</mark>" in page
    assert SCRIPT not in page
    assert "Không tìm thấy" not in page


def test_a_query_that_matches_nothing_says_so_escaped(login):
    page = login("operator").get("/search", query_string={"q": "<b>zzz</b>"}).get_data(as_text=True)
    assert "Không tìm thấy trang nào chứa “&lt;b&gt;zzz&lt;/b&gt;”." in page


def test_highlight_escapes_every_piece():
    assert str(highlight("a <b> [<i>] c")) == "a &lt;b&gt; <mark>&lt;i&gt;</mark> c"
