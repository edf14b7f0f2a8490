"""Full-text search over page text, indexed twice: as written and folded (no tone marks, đ→d)."""

from __future__ import annotations

import re
from typing import Any

from sqlite_utils import Database

from device.ocr.vietnamese import fold, has_marks, nfc

_WORD = re.compile(r"\w+", re.UNICODE)


def index_page_text(db: Database, page_id: int, text: str | None) -> None:
    """Replace a page's entry in the index (call inside the transaction that stores the text)."""
    db.conn.execute("DELETE FROM page_text WHERE rowid = ?", (page_id,))
    if text and text.strip():
        written = nfc(text)
        db.conn.execute("INSERT INTO page_text (rowid, written, folded) VALUES (?, ?, ?)",
                        (page_id, written, fold(written)))


def _match_expression(column: str, words: list[str]) -> str:
    quoted = " AND ".join('"' + word.replace('"', '""') + '"' for word in words)
    return f"{{{column}}} : ({quoted})"


def search_pages(db: Database, query: str, limit: int = 50) -> list[dict[str, Any]]:
    """Pages whose text holds every word of the query, accent-insensitive; pages that match
    the tone marks as typed come first. Each hit has a snippet with the match in [brackets]."""
    folded_words = _WORD.findall(fold(query))
    if not folded_words:
        return []
    exact_first = ""
    params: list[Any] = [_match_expression("folded", folded_words)]
    if has_marks(query):
        exact_first = ("(p.id IN (SELECT rowid FROM page_text WHERE page_text MATCH ?)) DESC, ")
        params.append(_match_expression("written", _WORD.findall(nfc(query).lower())))
    sql = (
        "SELECT p.id AS page_id, p.position, d.seq, s.file_code, t.written, t.folded"
        " FROM page_text t JOIN pages p ON p.id = t.rowid"
        " JOIN documents d ON d.id = p.document_id JOIN dossiers s ON s.id = d.dossier_id"
        f" WHERE page_text MATCH ? ORDER BY {exact_first}bm25(page_text), p.id LIMIT ?")
    # The MATCH for the WHERE clause comes first in the parameters, the ranking one second.
    rows = db.query(sql, [params[0], *params[1:], limit])
    return [_hit(row, folded_words) for row in rows]


def _hit(row: dict[str, Any], folded_words: list[str]) -> dict[str, Any]:
    written, folded = row.pop("written"), row.pop("folded")
    return {**row, "docId": f"{row['file_code']}.{row['seq']}",
            "snippet": snippet(written, folded, folded_words)}


def snippet(written: str, folded: str, words: list[str], width: int = 60) -> str:
    """A window of the written text around the first match, matches in [brackets]."""
    spans = []
    for word in words:
        for match in re.finditer(rf"\b{re.escape(word)}\b", folded):
            spans.append((match.start(), match.end()))
    if not spans:
        return written[: 2 * width]
    spans.sort()
    # Centre the window on the words as a phrase when they occur as one, else the first word.
    phrase = re.search(r"\b" + r"\W+".join(map(re.escape, words)) + r"\b", folded)
    anchor = (phrase.start(), phrase.end()) if phrase else spans[0]
    start = max(0, anchor[0] - width)
    end = min(len(written), anchor[1] + width)
    out, cursor = [], start
    for begin, finish in spans:
        if begin < cursor or finish > end:
            continue
        out += [written[cursor:begin], "[", written[begin:finish], "]"]
        cursor = finish
    out.append(written[cursor:end])
    text = " ".join("".join(out).split())
    return ("…" if start else "") + text + ("…" if end < len(written) else "")
