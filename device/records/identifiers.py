"""TT05 identifiers: agency ids, fileCode, docId, docCode, paperFileCode and arcFileCode.

An identifier that the rules make longer than its limit is reported, never truncated.
"""

from __future__ import annotations

import re

# Both forms of mã định danh cơ quan are in use: legacy `000.00.00.H49` and level-first
# `H49.64.33` (the official sample). Groups of 2–3 upper-case letters or digits, ≤ 13 chars.
_AGENCY = r"[A-Z0-9]{2,3}(?:\.[A-Z0-9]{2,3}){1,3}"
_AGENCY_RE = re.compile(_AGENCY, re.ASCII)
# fileCode = agency id + year of creation + the dossier's number and notation.
_FILE_CODE_RE = re.compile(rf"(?P<agency>{_AGENCY})\.(?P<year>[0-9]{{4}})\.(?P<number>[0-9A-Za-z-]+)",
                           re.ASCII)
_SEGMENT_RE = re.compile(r"[0-9A-Za-z-]+", re.ASCII)

AGENCY_ID_MAX = 13

Problem = tuple[str, str]  # (English, Vietnamese)


def check_agency_id(value: str) -> str | None:
    """English description of what is wrong with an agency id, or None when it is valid."""
    if len(value) > AGENCY_ID_MAX or not _AGENCY_RE.fullmatch(value):
        return (f"{value!r} is not an agency id: expected up to {AGENCY_ID_MAX} characters like "
                "000.00.00.H49 or H49.64.33")
    return None


def check_file_code(value: str, agency_id: str | None) -> Problem | None:
    """What is wrong with a fileCode (agency.year.number), or None."""
    match = _FILE_CODE_RE.fullmatch(value)
    if not match:
        return (f"{value!r} must be agency id, year and dossier number separated by dots, "
                "e.g. H49.64.33.2001.160 (letters, digits and '-' only)",
                f"“{value}” phải gồm mã cơ quan, năm và số hồ sơ, cách nhau bằng dấu chấm, "
                "ví dụ H49.64.33.2001.160")
    if agency_id and match["agency"] != agency_id:
        return (f"must start with the dossier's agency id {agency_id}",
                f"phải bắt đầu bằng mã định danh cơ quan {agency_id}")
    return None


def check_paper_file_code(value: str, archive_code: str | None) -> Problem | None:
    """What is wrong with a paperFileCode (archive.storage-location.paper-number), or None."""
    parts = value.split(".")
    if len(parts) < 3 or not all(_SEGMENT_RE.fullmatch(part) for part in parts):
        return ("must be archive code, storage location (kho/giá/hộp) and paper dossier "
                "number separated by dots, e.g. G09.K1-G2-H3.160",
                "phải gồm mã cơ quan lưu trữ, vị trí (kho/giá/hộp) và số hồ sơ giấy, "
                "cách nhau bằng dấu chấm")
    if archive_code and not value.startswith(archive_code + "."):
        return (f"must start with the archive code {archive_code}",
                f"phải bắt đầu bằng mã cơ quan lưu trữ {archive_code}")
    return None


def doc_id(file_code: str, seq: int) -> str:
    """docId = fileCode.STT; also the PDF's file name."""
    return f"{file_code}.{seq}"


def doc_code(file_code: str, seq: int) -> str:
    """docCode = fileCode.STT with STT as seven digits."""
    return f"{file_code}.{seq:07d}"


def arc_file_code(archive_code: str, file_code: str) -> str:
    """arcFileCode (AIP) = archive code.fileCode."""
    return f"{archive_code}.{file_code}"


def split_doc_id(value: str) -> tuple[str, int]:
    """(fileCode, STT) of a docId; raises ValueError when it is not one."""
    file_code, _, seq = value.rpartition(".")
    if not file_code or not (seq.isascii() and seq.isdigit()) or int(seq) < 1:
        raise ValueError(f"{value!r} is not a document id (fileCode.STT)")
    return file_code, int(seq)
