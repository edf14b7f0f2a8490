"""Reading the header block (issuer, motto, number, date, type, subject) of a plain-text legal document."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
# Longest first, so that "THÔNG TƯ LIÊN TỊCH" wins over "THÔNG TƯ".
DOC_TYPES = tuple(sorted((
    "NGHỊ ĐỊNH", "NGHỊ QUYẾT", "QUYẾT ĐỊNH", "THÔNG TƯ LIÊN TỊCH", "THÔNG TƯ", "LUẬT",
    "PHÁP LỆNH", "CHỈ THỊ", "QUY CHẾ", "QUY ĐỊNH", "THÔNG BÁO", "HƯỚNG DẪN", "KẾ HOẠCH",
    "BÁO CÁO", "TỜ TRÌNH", "CÔNG VĂN", "BIÊN BẢN", "LỆNH",
), key=len, reverse=True))
BODY_STARTS = ("Căn cứ", "Theo đề nghị", "Xét ", "Điều ", "Chương ", "Phần ", "Mục ")
HEADER_LINES_MAX = 14

_MOTTO_1 = re.compile(r"CỘNG\s+H(?:ÒA|OÀ)\s+XÃ\s+HỘI\s+CHỦ\s+NGHĨA\s+VIỆT\s+NAM")
_MOTTO_2 = re.compile(r"Độc\s+lập\s*[-–]\s*Tự\s+do\s*[-–]\s*Hạnh\s+phúc", re.IGNORECASE)
_DECORATION = re.compile(r"[_\-–—=.]{3,}")
_NUMBER = re.compile(r"^(?:\w+\s+){0,2}[Ss]ố\s*:?\s*\S")
_PLACE_DATE = re.compile(r",\s*ngày\s+\d{1,2}\s+tháng\s+\d{1,2}\s+năm\s+\d{4}")


@dataclass(frozen=True)
class DocumentHeader:
    """The parts of a Nghị định 30/2020 header that were found in the text."""

    issuer: tuple[str, ...] = ()
    motto: tuple[str, str] = MOTTO
    number: str = ""
    place_date: str = ""
    doc_type: str = ""
    subject: str = ""


def _clean(cell: str) -> str:
    return " ".join(_DECORATION.sub(" ", cell).split())


def _fragments(line: str) -> list[str]:
    """Split a header line into cells, dropping the motto and decorative rules."""
    out = []
    for cell in line.split("\t"):
        cell = _MOTTO_2.sub("\t", _MOTTO_1.sub("\t", cell))
        out.extend(c for c in (_clean(part) for part in cell.split("\t")) if c)
    return out


def split_doc_type(fragment: str) -> tuple[str, str] | None:
    """("NGHỊ ĐỊNH", rest) when the fragment starts with a document type, tolerating stray
    spaces inside the type as found in extracted text ("N GHỊ ĐỊNH")."""
    squeezed = fragment.replace(" ", "")
    for doc_type in DOC_TYPES:
        target = doc_type.replace(" ", "")
        if not squeezed.startswith(target):
            continue
        consumed, i = 0, 0
        while consumed < len(target):
            consumed += fragment[i] != " "
            i += 1
        rest = fragment[i:].strip()
        return doc_type, rest
    return None


def _is_upper(fragment: str) -> bool:
    letters = [c for c in fragment if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def parse_document(text: str) -> tuple[DocumentHeader, list[str]]:
    """Split a document into its header and body paragraphs (one per non-empty line)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    end = next((i for i, ln in enumerate(lines[:HEADER_LINES_MAX]) if ln.startswith(BODY_STARTS)), None)
    if end is None:
        end = min(len(lines), 6)
    issuer: list[str] = []
    number = place_date = doc_type = ""
    subject: list[str] = []
    for fragment in (f for line in lines[:end] for f in _fragments(line)):
        typed = None if doc_type else split_doc_type(fragment)
        if typed:
            doc_type, rest = typed
            subject += [rest] if rest else []
        elif not number and _NUMBER.match(fragment):
            number = fragment
        elif not place_date and _PLACE_DATE.search(fragment):
            place_date = fragment
        elif not doc_type and not number and _is_upper(fragment):
            issuer.append(fragment)
        else:
            subject.append(fragment)
    header = DocumentHeader(tuple(issuer), MOTTO, number, place_date, doc_type, " ".join(subject))
    log.debug("parsed header: %s", header)
    return header, lines[end:]
