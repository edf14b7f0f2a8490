"""Full-text search over page text, accent-insensitive, with the matching words highlighted."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, render_template, request
from markupsafe import Markup, escape

from device.catalog.corrections import review_pages
from device.catalog.dossiers import load
from device.db.search import search_pages
from web_ui.web import box

bp = Blueprint("search", __name__)

MAX_QUERY = 200
_MARKED = re.compile(r"\[([^\[\]]*)\]")


def highlight(snippet: str) -> Markup:
    """The snippet with device.db.search's [match] marks turned into <mark>, every piece of the
    page's text escaped (OCR text is untrusted: it may hold anything, markup included)."""
    out, cursor = [], 0
    for match in _MARKED.finditer(snippet):
        out.append(escape(snippet[cursor:match.start()]))
        out.append(Markup("<mark>%s</mark>") % match.group(1))
        cursor = match.end()
    out.append(escape(snippet[cursor:]))
    return Markup("").join(out)


def _review_numbers(file_codes: set[str]) -> dict[int, int]:
    """page id -> its number n on the review screen (/dossiers/<code>/review/<n>: the page's
    place in the whole dossier in reading order), for the pages of these dossiers."""
    numbers: dict[int, int] = {}
    for code in file_codes:
        for n, page in enumerate(review_pages(box(), load(box(), code)), start=1):
            numbers[page["id"]] = n
    return numbers


@bp.get("/search")
def results() -> Any:
    query = request.args.get("q", "").strip()[:MAX_QUERY]
    hits = search_pages(box().db, query) if query else []
    numbers = _review_numbers({hit["file_code"] for hit in hits})
    for hit in hits:
        hit["highlighted"] = highlight(hit["snippet"])
        hit["n"] = numbers.get(hit["page_id"])
    return render_template("search/results.html", query=query, hits=hits)
