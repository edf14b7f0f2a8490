"""Checks what a package's METS files say against the zip's entries: XSDs, checksums, coverage.

Input is what `validate` streamed out of the zip (each entry's SHA-256 and size, the bytes of
its XML entries), so this module never touches the zip or the disk.
"""

from __future__ import annotations

import posixpath
import re
import uuid
from dataclasses import dataclass, field

from lxml import etree

from device.archive import premis
from device.archive.mets import NS, mets_schema, safe_parser

XLINK_HREF = f"{{{NS['xlink']}}}href"
_CSIP_TYPE = f"{{{NS['csip']}}}OAISPACKAGETYPE"
_PROFILE = "https://earkcsip.dilcis.eu/profile/E-ARK-CSIP.xml"
_UUID_OBJID = re.compile(r"^(?:urn:uuid:|uuid-|urn:[^:]+:uuid-)([0-9A-Fa-f-]{36})$")


@dataclass
class Contents:
    """What the METS files of a package say, and what is wrong with them."""

    reasons: list[str] = field(default_factory=list)
    package_id: str | None = None
    kind: str | None = None
    file_code: str | None = None
    documents: int = 0
    pages: int = 0


def parse(name: str, data: bytes, reasons: list[str]) -> etree._Element | None:
    try:
        return etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as exc:
        reasons.append(f"xml.malformed: {name}: {exc}")
        return None


def check_contents(root: str, xml: dict[str, bytes], digests: dict[str, tuple[str, int]]) -> Contents:
    """Check the package rooted at folder `root` (entry names are `root/...`)."""
    found = Contents()
    mets_name = f"{root}/METS.xml"
    if mets_name not in xml:
        found.reasons.append(f"package.layout: no {mets_name}")
        return found
    tree = _mets(mets_name, xml[mets_name], found.reasons)
    if tree is None:
        return found
    _identity(root, tree, found)
    covered = {mets_name}
    for name in _referenced(mets_name, tree, digests, found.reasons):
        covered.add(name)
        if name.endswith("/METS.xml") and name in xml:
            sub = _mets(name, xml[name], found.reasons)
            if sub is not None:
                covered.update(_referenced(name, sub, digests, found.reasons))
    for name in sorted(set(digests) - covered):
        found.reasons.append(f"mets.unlisted_file: {name}")
    _descriptive(root, xml, found)
    found.documents = sum(1 for name in digests if re.fullmatch(
        rf"{re.escape(root)}/representations/[^/]+/data/[^/]+\.pdf", name))
    if found.kind == "AIP" and not found.reasons:
        for name in sorted(xml):
            if re.search(r"/metadata/preservation/PREMIS[^/]*\.xml$", name):
                found.reasons += premis.check_premis(name, xml[name], root, digests)
    return found


def _mets(name: str, data: bytes, reasons: list[str]) -> etree._Element | None:
    tree = parse(name, data, reasons)
    if tree is None:
        return None
    schema = mets_schema()
    if not schema.validate(tree):
        errors = "; ".join(f"line {e.line}: {e.message}" for e in list(schema.error_log)[:3])
        reasons.append(f"mets.xsd_invalid: {name}: {errors}")
        return None
    if tree.get("PROFILE") != _PROFILE:
        reasons.append(f"mets.profile: {name}: PROFILE is {tree.get('PROFILE')!r}")
    return tree


def _identity(root: str, tree: etree._Element, found: Contents) -> None:
    objid = tree.get("OBJID") or ""
    if root != objid.replace(":", "_"):
        found.reasons.append(f"package.layout: folder {root!r} is not the OBJID {objid!r}")
    match = _UUID_OBJID.match(objid)
    if match is None:
        found.reasons.append(f"mets.objid: {objid!r} carries no UUID")
    else:
        found.package_id = str(uuid.UUID(match.group(1)))
    header = tree.find("mets:metsHdr", NS)
    kind = header.get(_CSIP_TYPE) if header is not None else None
    found.kind = kind or tree.get(_CSIP_TYPE)
    if found.kind not in ("AIP", "SIP"):
        found.reasons.append(f"mets.package_type: {found.kind!r} (expected AIP or SIP)")


def _referenced(mets_name: str, tree: etree._Element, digests: dict[str, tuple[str, int]],
                reasons: list[str]) -> list[str]:
    """Entry names the METS references, each checked against its CHECKSUM and SIZE."""
    folder = posixpath.dirname(mets_name)
    names = []
    for element in tree.iter(f"{{{NS['mets']}}}file", f"{{{NS['mets']}}}mdRef"):
        located = element.find("mets:FLocat", NS) if element.tag.endswith("}file") else element
        href = located.get(XLINK_HREF) if located is not None else None
        if not href:
            reasons.append(f"mets.no_location: {mets_name}: {element.get('ID')}")
            continue
        name = posixpath.normpath(posixpath.join(folder, href))
        if href.startswith("/") or "://" in href or not name.startswith(folder + "/"):
            reasons.append(f"mets.unsafe_href: {mets_name}: {href}")
            continue
        if name not in digests:
            reasons.append(f"mets.missing_file: {name}")
            continue
        names.append(name)
        digest, size = digests[name]
        if element.get("CHECKSUMTYPE") != "SHA-256" or not element.get("CHECKSUM"):
            reasons.append(f"mets.no_sha256: {name}")
        elif element.get("CHECKSUM").lower() != digest:
            reasons.append(f"mets.checksum_mismatch: {name}")
        if element.get("SIZE") is not None and element.get("SIZE") != str(size):
            reasons.append(f"mets.size_mismatch: {name}: METS says {element.get('SIZE')}, "
                           f"the file has {size}")
    return names


def _descriptive(root: str, xml: dict[str, bytes], found: Contents) -> None:
    """fileCode and numberOfPage from the dossier's EAD.xml (a flat <simpledc>)."""
    name = f"{root}/metadata/descriptive/EAD.xml"
    if name not in xml:
        found.reasons.append(f"package.layout: no {name}")
        return
    tree = parse(name, xml[name], found.reasons)
    if tree is None:
        return
    if etree.QName(tree).localname != "simpledc":
        found.reasons.append(f"ead.root: {name}: root is <{etree.QName(tree).localname}>")
    values = {etree.QName(child).localname: (child.text or "").strip()
              for child in tree if isinstance(child.tag, str)}
    found.file_code = values.get("fileCode") or None
    if not found.file_code:
        found.reasons.append(f"ead.no_file_code: {name}")
    try:
        found.pages = int(values.get("numberOfPage", ""))
    except ValueError:
        found.reasons.append(f"ead.number_of_page: {name}: {values.get('numberOfPage')!r}")
