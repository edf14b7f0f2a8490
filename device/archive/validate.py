"""Checks a TT05 package zip without extracting it: zip safety, METS checksums, XSDs, PDF/A.

Used by the box before a package is recorded, and by the hub after an upload. Nothing is
written to disk and memory stays bounded: entries are streamed (hashes and byte counts are
taken chunk by chunk), only XML entries up to `PackageLimits.max_xml_bytes` are held whole,
and PDFs are opened through a window on the zip file (stored entries) or not at all.

Reasons are short English keys, then a colon and a detail: `zip.unsafe_path: ../x`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from device.archive.contents import check_contents
from device.archive.pdf_check import pdf_problems
from device.files import sha256_file

log = logging.getLogger(__name__)

_CHUNK = 1 << 20


@dataclass(frozen=True)
class PackageLimits:
    """What a package may be; beyond these it is refused before its contents are trusted."""

    max_size: int = 8 << 30                 # bytes of the zip file itself
    max_entries: int = 20_000
    max_total_uncompressed: int = 16 << 30  # declared and counted, over all entries
    max_ratio: float = 100.0                # uncompressed / compressed, per entry above 64 KiB
    max_xml_bytes: int = 32 << 20           # an XML entry is parsed whole, so it is bounded
    max_xml_total: int = 96 << 20           # and so are all of them together
    check_pdfa: bool = True                 # open each PDF (pikepdf) for its PDF/A-2b marks


@dataclass(frozen=True)
class PackageVerdict:
    """The outcome; `ok` is True only when `reasons` is empty."""

    ok: bool
    reasons: list[str]
    package_id: str | None
    kind: str | None
    sha256: str
    size: int
    file_code: str | None
    documents: int
    pages: int


@dataclass
class _Scan:
    """What reading the zip found: each entry's SHA-256 and size, and the XML entries' bytes."""

    reasons: list[str] = field(default_factory=list)
    digests: dict[str, tuple[str, int]] = field(default_factory=dict)
    xml: dict[str, bytes] = field(default_factory=dict)
    xml_bytes: int = 0  # held in `xml`, over all entries
    root: str | None = None


def validate_package(path: Path, *, limits: PackageLimits = PackageLimits()) -> PackageVerdict:
    """Check the package zip at `path`; never raises for a bad package, only says why."""
    path = Path(path)
    size = path.stat().st_size
    sha256 = sha256_file(path)
    base = {"sha256": sha256, "size": size}
    if size > limits.max_size:
        return _refused([f"zip.too_large: {size} > {limits.max_size} bytes"], **base)
    too_many = _declared_entries_over(path, limits.max_entries)
    if too_many:
        return _refused([too_many], **base)
    try:
        with zipfile.ZipFile(path) as archive:
            scan = _scan(archive, limits)
            if scan.reasons:
                return _refused(scan.reasons, **base)
            content = check_contents(scan.root or "", scan.xml, scan.digests)
            reasons = list(content.reasons)
            if limits.check_pdfa and not reasons:
                pages, pdf_reasons = _check_pdfs(archive, scan)
                reasons += pdf_reasons
                if not pdf_reasons and pages != content.pages:
                    reasons.append(f"pdf.page_count: the PDFs hold {pages} pages, EAD.xml says "
                                   f"{content.pages}")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        return _refused([f"zip.corrupt: {exc}"], **base)
    verdict = PackageVerdict(ok=not reasons, reasons=reasons, package_id=content.package_id,
                             kind=content.kind, file_code=content.file_code,
                             documents=content.documents, pages=content.pages, **base)
    log.info("package %s (%s): %s%s", verdict.package_id, sha256[:12],
             "valid" if verdict.ok else "refused", "" if verdict.ok else f": {reasons}")
    return verdict


def _refused(reasons: list[str], *, sha256: str, size: int) -> PackageVerdict:
    log.info("package %s refused: %s", sha256[:12], reasons)
    return PackageVerdict(ok=False, reasons=reasons, package_id=None, kind=None, sha256=sha256,
                          size=size, file_code=None, documents=0, pages=0)


_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"


def _declared_entries_over(path: Path, limit: int) -> str | None:
    """A reason when the zip's end record declares more than `limit` entries, read before
    zipfile parses the central directory (which it holds whole: millions of tiny entries in a
    few tens of MB would take gigabytes). None when the count is within the limit or unknown
    (a zip with no end record is then refused by zipfile itself)."""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        end = handle.tell()
        handle.seek(max(0, end - (1 << 16) - 22))
        tail = handle.read()
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) < at + 22:
        return None
    entries = struct.unpack("<H", tail[at + 10:at + 12])[0]
    if entries == 0xFFFF and at >= 20 and tail[at - 20:at - 16] == _ZIP64_LOCATOR:
        # A zip64 archive (over 4 GiB, or over 65535 entries): the count is in its own record.
        record_at = struct.unpack("<Q", tail[at - 12:at - 4])[0]
        with path.open("rb") as handle:
            handle.seek(record_at)
            record = handle.read(56)
        if len(record) < 40 or record[:4] != b"PK\x06\x06":
            return "zip.corrupt: bad zip64 end record"
        entries = struct.unpack("<Q", record[32:40])[0]
    if entries > limit:
        return f"zip.too_many_entries: {entries} > {limit}"
    return None


def _scan(archive: zipfile.ZipFile, limits: PackageLimits) -> _Scan:
    """Entry names, types and declared sizes first; then every entry read and counted."""
    scan = _Scan()
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        scan.reasons.append(f"zip.too_many_entries: {len(infos)} > {limits.max_entries}")
        return scan
    scan.reasons += _name_problems(infos)
    declared = sum(info.file_size for info in infos)
    if declared > limits.max_total_uncompressed:
        scan.reasons.append(f"zip.bomb: declares {declared} bytes uncompressed "
                            f"> {limits.max_total_uncompressed}")
    for info in infos:
        if info.file_size > (64 << 10) and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            scan.reasons.append(f"zip.bomb: {info.filename} expands {info.file_size} bytes from "
                                f"{info.compress_size}")
    if scan.reasons:
        return scan
    roots = {PurePosixPath(info.filename).parts[0] for info in infos}
    if len(roots) != 1:
        scan.reasons.append(f"package.layout: expected one top folder, found {len(roots)}")
        return scan
    scan.root = roots.pop()
    budget = [limits.max_total_uncompressed]
    for info in infos:
        if not info.is_dir():
            _read_entry(archive, info, limits, scan, budget)
            if scan.reasons:
                break
    return scan


def _name_problems(infos: list[zipfile.ZipInfo]) -> list[str]:
    problems, seen = [], set()
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name).parts
        if (not name or name.startswith(("/", "\\")) or "\\" in name or "\x00" in name
                or re.match(r"^[A-Za-z]:", name) or ".." in parts or "." in name.split("/")[:-1]):
            problems.append(f"zip.unsafe_path: {name}")
        mode = info.external_attr >> 16
        if info.create_system == 3 and stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
            kind = "symlink" if stat.S_ISLNK(mode) else "special_file"
            problems.append(f"zip.{kind}: {name}")
        if name in seen:
            problems.append(f"zip.duplicate_entry: {name}")
        seen.add(name)
        if info.flag_bits & 0x1:
            problems.append(f"zip.encrypted: {name}")
    return problems


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: PackageLimits,
                scan: _Scan, budget: list[int]) -> None:
    """Hash and count the real bytes of one entry, keeping XML entries up to their limit."""
    digest, count = hashlib.sha256(), 0
    keep = info.filename.lower().endswith(".xml")
    kept: list[bytes] = []
    with archive.open(info) as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            count += len(chunk)
            budget[0] -= len(chunk)
            if count > info.file_size or budget[0] < 0:
                scan.reasons.append(f"zip.bomb: {info.filename} yields more bytes than declared "
                                    "or than the limit")
                return
            if keep:
                scan.xml_bytes += len(chunk)
                if count > limits.max_xml_bytes or scan.xml_bytes > limits.max_xml_total:
                    scan.reasons.append(f"package.xml_too_large: {info.filename}")
                    return
                kept.append(chunk)
            digest.update(chunk)
    scan.digests[info.filename] = (digest.hexdigest(), count)
    if keep:
        scan.xml[info.filename] = b"".join(kept)


def _check_pdfs(archive: zipfile.ZipFile, scan: _Scan) -> tuple[int, list[str]]:
    """Total pages of the representation's PDFs, and what stops any from being PDF/A-2b."""
    pages, reasons = 0, []
    for name in sorted(scan.digests):
        if name.lower().endswith(".pdf"):
            count, problems = pdf_problems(archive, archive.getinfo(name))
            pages += count
            reasons += [f"pdf.not_pdfa_2b: {name}: {problem}" for problem in problems]
    return pages, reasons

