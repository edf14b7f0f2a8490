"""Full-text search over page text, accent-insensitive, with the matching words highlighted."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, render_template, request
from markupsafe import Markup, escape

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


@bp.get("/search")
def results() -> Any:
    query = request.args.get("q", "").strip()[:MAX_QUERY]
    hits = search_pages(box().db, query) if query else []
    for hit in hits:
        hit["highlighted"] = highlight(hit["snippet"])
    return render_template("search/results.html", query=query, hits=hits)
