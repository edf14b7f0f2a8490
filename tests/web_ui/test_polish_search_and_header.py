"""Search hits open the review screen at their page (and still link the dossier); the header's
language switch sends itself on change with its button kept for browsers without scripts; the
favicon is a local file that needs no login."""

from __future__ import annotations

import re

from device.intake import import_files
from tests.device.catalog.test_corrections import processed_page


def test_a_hit_links_to_its_page_on_the_review_screen(login, box, dossier_code, page_png):
    import_files(box, dossier_code, [page_png, page_png], actor="test")  # document 1: 2 pages
    processed_page(box, dossier_code, page_png)  # document 2, page 1: the dossier's 3rd page
    session = login("operator")
    page = session.get("/search?q=thanh lap to dan pho").get_data(as_text=True)
    assert f'class="hit-page" href="/dossiers/{dossier_code}/review/3"' in page
    assert f'class="hit-dossier" href="/dossiers/{dossier_code}"' in page
    review = session.get(f"/dossiers/{dossier_code}/review/3").get_data(as_text=True)
    assert "Thành lập tổ dân phố" in review


def test_the_language_switch_submits_on_change_and_keeps_its_button(login):
    page = login("operator").get("/").get_data(as_text=True)
    assert re.search(r'<select name="language" id="language-select" data-submit-on-change>', page)
    assert 'class="link language-apply"' in page  # without JavaScript the button still works
    with login("operator").get("/static/sohoa.js") as answer:
        script = answer.get_data(as_text=True)
    assert "data-submit-on-change" in script and 'classList.add("js")' in script


def test_the_favicon_is_local_and_open_without_a_session(app):
    client = app.test_client()
    with client.get("/favicon.ico") as answer:
        assert answer.status_code == 301
        assert answer.headers["Location"].endswith("/static/favicon.svg")
    with client.get("/static/favicon.svg") as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
        assert b"<svg" in icon.data
    login_page = client.get("/login").get_data(as_text=True)
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in login_page
