"""PREMIS 3.0 preservation metadata of a package: objects with fixity and format, events, agents.

No PREMIS 3.0 XSD is shipped by any package reachable here, so `check_premis` checks the
structure by hand: the root, version, element order of what we write, and that every file
object's SHA-256 and size match the package entry it names.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from device.archive.mets import safe_parser

PREMIS_NS = "http://www.loc.gov/premis/v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_NSMAP = {"premis": PREMIS_NS, "xsi": XSI_NS}
#: PRONOM fmt/477 "Acrobat PDF/A - Portable Document Format" version 2b (checked against
#: the PRONOM signature file v109 that opf-fido ships).
PDFA_2B = ("Acrobat PDF/A - Portable Document Format", "2b", "fmt/477")


def _q(name: str) -> str:
    return f"{{{PREMIS_NS}}}{name}"


def _add(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, _q(name))
    if text is not None:
        element.text = text
    return element


def _identifier(parent: etree._Element, kind: str, value: str, id_type: str = "local") -> None:
    holder = _add(parent, f"{kind}Identifier")
    _add(holder, f"{kind}IdentifierType", id_type)
    _add(holder, f"{kind}IdentifierValue", value)


@dataclass(frozen=True)
class PremisFile:
    """A file object: its path inside the package folder's representation, fixity and format."""

    path: str           # relative to the PREMIS file's representation folder, e.g. data/x.pdf
    sha256: str
    size: int
    events: tuple[str, ...] = ()


@dataclass(frozen=True)
class PremisEvent:
    id: str
    type: str
    at: str             # ISO 8601, +07:00
    detail: str
    agents: tuple[tuple[str, str], ...]     # (agent id, role)
    objects: tuple[str, ...] = ()           # object identifier values


@dataclass(frozen=True)
class PremisAgent:
    id: str
    name: str
    type: str           # "software", "person", "organization"
    version: str | None = None


def _file_object(root: etree._Element, item: PremisFile) -> None:
    obj = etree.SubElement(root, _q("object"), {f"{{{XSI_NS}}}type": "premis:file"})
    _identifier(obj, "object", item.path)
    chars = _add(obj, "objectCharacteristics")
    _add(chars, "compositionLevel", "0")
    fixity = _add(chars, "fixity")
    _add(fixity, "messageDigestAlgorithm", "SHA-256")
    _add(fixity, "messageDigest", item.sha256)
    _add(fixity, "messageDigestOriginator", "SoHoa Box")
    _add(chars, "size", str(item.size))
    fmt = _add(chars, "format")
    designation = _add(fmt, "formatDesignation")
    _add(designation, "formatName", PDFA_2B[0])
    _add(designation, "formatVersion", PDFA_2B[1])
    registry = _add(fmt, "formatRegistry")
    _add(registry, "formatRegistryName", "PRONOM")
    _add(registry, "formatRegistryKey", PDFA_2B[2])
    _add(registry, "formatRegistryRole", "specification")
    _add(obj, "originalName", posixpath.basename(item.path))
    for event_id in item.events:
        _identifier(obj, "linkingEvent", event_id)


def _representation_object(root: etree._Element, name: str, relationship: tuple[str, str] | None) -> None:
    obj = etree.SubElement(root, _q("object"), {f"{{{XSI_NS}}}type": "premis:representation"})
    _identifier(obj, "object", name)
    if relationship is not None:
        rel = _add(obj, "relationship")
        _add(rel, "relationshipType", "derivation")
        _add(rel, "relationshipSubType", relationship[0])
        _identifier(rel, "relatedObject", relationship[1], "OBJID")


def _event(root: etree._Element, event: PremisEvent) -> None:
    element = _add(root, "event")
    _identifier(element, "event", event.id)
    _add(element, "eventType", event.type)
    _add(element, "eventDateTime", event.at)
    _add(_add(element, "eventDetailInformation"), "eventDetail", event.detail)
    _add(_add(element, "eventOutcomeInformation"), "eventOutcome", "success")
    for agent_id, role in event.agents:
        link = _add(element, "linkingAgentIdentifier")
        _add(link, "linkingAgentIdentifierType", "local")
        _add(link, "linkingAgentIdentifierValue", agent_id)
        _add(link, "linkingAgentRole", role)
    for object_id in event.objects:
        _identifier(element, "linkingObject", object_id)


def _agent(root: etree._Element, agent: PremisAgent) -> None:
    element = _add(root, "agent")
    _identifier(element, "agent", agent.id)
    _add(element, "agentName", agent.name)
    _add(element, "agentType", agent.type)
    if agent.version:
        _add(element, "agentVersion", agent.version)


def premis_xml(files: Sequence[PremisFile], events: Sequence[PremisEvent],
               agents: Sequence[PremisAgent], *, representation: str | None = None,
               supersedes: str | None = None) -> bytes:
    """A PREMIS 3.0 document: objects, then events, then agents (the schema's order)."""
    root = etree.Element(_q("premis"), nsmap=_NSMAP, attrib={
        "version": "3.0",
        f"{{{XSI_NS}}}schemaLocation": f"{PREMIS_NS} https://www.loc.gov/standards/premis/premis.xsd"})
    if representation is not None:
        _representation_object(root, representation,
                               ("supersedes", supersedes) if supersedes else None)
    for item in files:
        _file_object(root, item)
    for event in events:
        _event(root, event)
    for agent in agents:
        _agent(root, agent)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


_ORDER = {"object": 0, "event": 1, "agent": 2, "rights": 3}


def check_premis(name: str, data: bytes, root: str, digests: dict[str, tuple[str, int]]) -> list[str]:
    """Structural PREMIS 3.0 check (no XSD available); each file object's fixity against the
    entry it names (its path is relative to the representation folder holding the PREMIS file,
    i.e. two folders up from `metadata/preservation/`)."""
    try:
        tree = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as exc:
        return [f"premis.malformed: {name}: {exc}"]
    if tree.tag != _q("premis") or tree.get("version") != "3.0":
        return [f"premis.root: {name}: expected premis:premis version 3.0"]
    reasons, last = [], 0
    for child in tree:
        if not isinstance(child.tag, str):
            continue
        local = etree.QName(child).localname
        if child.tag != _q(local) or local not in _ORDER or _ORDER[local] < last:
            reasons.append(f"premis.structure: {name}: unexpected or misplaced <{local}>")
            break
        last = _ORDER[local]
    base = posixpath.dirname(posixpath.dirname(posixpath.dirname(name)))
    for obj in tree.iterfind("premis:object", _NSMAP):
        if obj.get(f"{{{XSI_NS}}}type") != "premis:file":
            continue
        reasons += _check_file_object(name, obj, base, digests)
    for event in tree.iterfind("premis:event", _NSMAP):
        if not event.findtext("premis:eventType", None, _NSMAP) or \
                not event.findtext("premis:eventDateTime", None, _NSMAP):
            reasons.append(f"premis.event: {name}: an event without type or date")
    return reasons


def _check_file_object(name: str, obj: etree._Element, base: str,
                       digests: dict[str, tuple[str, int]]) -> list[str]:
    path = obj.findtext("premis:objectIdentifier/premis:objectIdentifierValue", "", _NSMAP)
    entry = posixpath.normpath(posixpath.join(base, path))
    algorithm = obj.findtext("premis:objectCharacteristics/premis:fixity/premis:messageDigestAlgorithm",
                             "", _NSMAP)
    digest = obj.findtext("premis:objectCharacteristics/premis:fixity/premis:messageDigest", "", _NSMAP)
    size = obj.findtext("premis:objectCharacteristics/premis:size", "", _NSMAP)
    if entry not in digests:
        return [f"premis.missing_file: {name}: {path}"]
    if algorithm != "SHA-256" or digest.lower() != digests[entry][0]:
        return [f"premis.fixity_mismatch: {name}: {path}"]
    if size != str(digests[entry][1]):
        return [f"premis.size_mismatch: {name}: {path}"]
    if obj.find("premis:objectCharacteristics/premis:format", _NSMAP) is None:
        return [f"premis.no_format: {name}: {path}"]
    return []
