"""METS 1.12 documents of a TT05 package (E-ARK CSIP extension), and the schema that checks them.

The root METS references the dossier's descriptive and preservation metadata (dmdSec/amdSec
mdRef), the schemas and the representation's METS (fileSec), each with SHA-256 and size; the
representation's METS does the same for each document's EAD_doc file and PDF, and its
PHYSICAL structMap gives each document one div linking its EAD_doc (DMDID) to its PDF (fptr).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

SCHEMAS = Path(__file__).resolve().parent / "schemas"
#: The XSD files copied into every package's `schemas/` folder (SOURCES.md says where from).
PACKAGE_SCHEMAS = ("DILCISExtensionMETS.xsd", "DILCISExtensionSIPMETS.xsd", "mets.xsd", "xlink.xsd")
PROFILE = "https://earkcsip.dilcis.eu/profile/E-ARK-CSIP.xml"
#: TT05 asks for a CREATOR agent carrying the mã phông as its IDENTIFICATIONCODE note, but CSIP
#: (rules CSIP10-13) reserves CREATOR agents for the software that made the package. The fonds
#: is written as E-ARK SIP's "archival creator agent" (ARCHIVIST, ORGANIZATION, the same note);
#: docs/packages.md lists this deviation.
FONDS_AGENT_ROLE = "ARCHIVIST"
CONTENT_TYPE = "TT05/2025/TT-BNV"
NS = {
    "mets": "http://www.loc.gov/METS/",
    "csip": "https://DILCIS.eu/XML/METS/CSIPExtensionMETS",
    "sip": "https://DILCIS.eu/XML/METS/SIPExtensionMETS",
    "xlink": "http://www.w3.org/1999/xlink",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def safe_parser() -> etree.XMLParser:
    """No entities, no DTD, no network, no huge trees: package XML is untrusted input."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, remove_blank_text=False)


@functools.cache
def mets_schema() -> etree.XMLSchema:
    """METS 1.12 with the DILCIS CSIP and SIP extension attributes, all from `schemas/`."""
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "mets.local.xsd")))


@dataclass(frozen=True)
class FileRef:
    """A file a METS references: where (relative to the METS's folder), its id and fixity."""

    id: str
    href: str
    sha256: str
    size: int
    mimetype: str


@dataclass(frozen=True)
class Header:
    """What both METS files of a package say about who made it, when, and what it replaces."""

    objid: str
    kind: str             # "AIP" or "SIP"
    label: str
    created: str          # ISO 8601 with the +07:00 offset
    fonds_code: str
    fonds_name: str
    software: str         # "SoHoa Box"
    software_version: str
    supersedes: str | None = None   # the OBJID of the package this one replaces


@dataclass(frozen=True)
class DocumentRefs:
    doc_id: str
    ead: FileRef
    pdf: FileRef


def _root(header: Header, objid: str, schema_prefix: str) -> etree._Element:
    locations = " ".join(f"{NS[p]} {schema_prefix}{f}" for p, f in (
        ("mets", "mets.xsd"), ("xlink", "xlink.xsd"), ("csip", "DILCISExtensionMETS.xsd"),
        ("sip", "DILCISExtensionSIPMETS.xsd")))
    mets = etree.Element(_q("mets", "mets"), nsmap=NS, attrib={
        "OBJID": objid, "LABEL": header.label, "TYPE": "Mixed", "PROFILE": PROFILE,
        _q("csip", "CONTENTINFORMATIONTYPE"): "OTHER",
        _q("csip", "OTHERCONTENTINFORMATIONTYPE"): CONTENT_TYPE,
        _q("csip", "OAISPACKAGETYPE"): header.kind,
        _q("xsi", "schemaLocation"): locations})
    hdr = etree.SubElement(mets, _q("mets", "metsHdr"), {
        "CREATEDATE": header.created, "LASTMODDATE": header.created,
        "RECORDSTATUS": "REPLACEMENT" if header.supersedes else "NEW",
        _q("csip", "OAISPACKAGETYPE"): header.kind})
    software = etree.SubElement(hdr, _q("mets", "agent"), {
        "ROLE": "CREATOR", "TYPE": "OTHER", "OTHERTYPE": "SOFTWARE"})
    etree.SubElement(software, _q("mets", "name")).text = header.software
    etree.SubElement(software, _q("mets", "note"),
                     {_q("csip", "NOTETYPE"): "SOFTWARE VERSION"}).text = header.software_version
    fonds = etree.SubElement(hdr, _q("mets", "agent"), {"ROLE": FONDS_AGENT_ROLE, "TYPE": "ORGANIZATION"})
    etree.SubElement(fonds, _q("mets", "name")).text = header.fonds_name or header.fonds_code
    etree.SubElement(fonds, _q("mets", "note"),
                     {_q("csip", "NOTETYPE"): "IDENTIFICATIONCODE"}).text = header.fonds_code
    if header.supersedes:
        etree.SubElement(hdr, _q("mets", "altRecordID"),
                         {"TYPE": "SUPERSEDES"}).text = header.supersedes
    return mets


def _md_ref(parent: etree._Element, section: str, section_id: str, ref: FileRef, mdtype: str,
            created: str) -> None:
    sec = etree.SubElement(parent, _q("mets", section),
                           {"ID": section_id, "CREATED": created, "STATUS": "CURRENT"})
    attributes = {"ID": ref.id, "LOCTYPE": "URL", _q("xlink", "type"): "simple",
                  _q("xlink", "href"): ref.href, "MDTYPE": mdtype}
    if mdtype == "OTHER":
        attributes["OTHERMDTYPE"] = "TT05-simpledc"
    attributes.update({"MIMETYPE": ref.mimetype, "SIZE": str(ref.size), "CREATED": created,
                       "CHECKSUM": ref.sha256, "CHECKSUMTYPE": "SHA-256"})
    etree.SubElement(sec, _q("mets", "mdRef"), attributes)


def _file(group: etree._Element, ref: FileRef, created: str) -> None:
    element = etree.SubElement(group, _q("mets", "file"), {
        "ID": ref.id, "MIMETYPE": ref.mimetype, "SIZE": str(ref.size), "CREATED": created,
        "CHECKSUM": ref.sha256, "CHECKSUMTYPE": "SHA-256"})
    etree.SubElement(element, _q("mets", "FLocat"), {
        "LOCTYPE": "URL", _q("xlink", "type"): "simple", _q("xlink", "href"): ref.href})


def _group(group_id: str, use: str) -> dict[str, str]:
    """A fileGrp's attributes; the content information type is repeated on every group
    because the E-ARK validator's CSIP63 asserts it on each one."""
    return {"ID": group_id, "USE": use, _q("csip", "CONTENTINFORMATIONTYPE"): "OTHER",
            _q("csip", "OTHERCONTENTINFORMATIONTYPE"): CONTENT_TYPE}


def _serialize(mets: etree._Element) -> bytes:
    return etree.tostring(mets, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def root_mets(header: Header, ead: FileRef, premis: FileRef | None, schemas: Sequence[FileRef],
              representation: FileRef, documentation: Sequence[FileRef]) -> bytes:
    """The package's METS.xml."""
    mets = _root(header, header.objid, "schemas/")
    _md_ref(mets, "dmdSec", "dmd-ead", ead, "OTHER", header.created)
    if premis is not None:
        amd = etree.SubElement(mets, _q("mets", "amdSec"), {"ID": "amd-premis"})
        _md_ref(amd, "digiprovMD", "digiprov-premis", premis, "PREMIS", header.created)
    file_sec = etree.SubElement(mets, _q("mets", "fileSec"), {"ID": "filesec"})
    # TT05 lists no documentation folder, but the E-ARK validator asserts a Documentation
    # group (CSIP60) holding files (CSIP66): the package carries one README (docs/packages.md).
    doc_group = etree.SubElement(file_sec, _q("mets", "fileGrp"),
                                 _group("grp-documentation", "Documentation"))
    for ref in documentation:
        _file(doc_group, ref, header.created)
    schema_group = etree.SubElement(file_sec, _q("mets", "fileGrp"), _group("grp-schemas", "Schemas"))
    for ref in schemas:
        _file(schema_group, ref, header.created)
    rep_group = etree.SubElement(file_sec, _q("mets", "fileGrp"),
                                 _group("grp-rep1", "Representations/rep1"))
    _file(rep_group, representation, header.created)
    struct = etree.SubElement(mets, _q("mets", "structMap"),
                              {"ID": "structmap-csip", "TYPE": "PHYSICAL", "LABEL": "CSIP"})
    top = etree.SubElement(struct, _q("mets", "div"), {"ID": "div-root", "LABEL": header.objid})
    meta = {"ID": "div-metadata", "LABEL": "Metadata", "DMDID": "dmd-ead"}
    if premis is not None:
        meta["ADMID"] = "digiprov-premis"
    etree.SubElement(top, _q("mets", "div"), meta)
    docs_div = etree.SubElement(top, _q("mets", "div"), {"ID": "div-documentation",
                                                          "LABEL": "Documentation"})
    # CSIP: these divs point at file groups (fptr FILEID, mptr xlink:title), not at files.
    etree.SubElement(docs_div, _q("mets", "fptr"), {"FILEID": "grp-documentation"})
    schemas_div = etree.SubElement(top, _q("mets", "div"), {"ID": "div-schemas", "LABEL": "Schemas"})
    etree.SubElement(schemas_div, _q("mets", "fptr"), {"FILEID": "grp-schemas"})
    # The E-ARK validator wants both a "Representations" div pointing at the representations'
    # file group (CSIP103/104) and, beside it, one div per representation with its mptr.
    reps_div = etree.SubElement(top, _q("mets", "div"), {"ID": "div-representations",
                                                         "LABEL": "Representations"})
    etree.SubElement(reps_div, _q("mets", "fptr"), {"FILEID": "grp-rep1"})
    rep_div = etree.SubElement(top, _q("mets", "div"), {"ID": "div-rep1",
                                                        "LABEL": "Representations/rep1"})
    etree.SubElement(rep_div, _q("mets", "mptr"), {
        "LOCTYPE": "URL", _q("xlink", "type"): "simple", _q("xlink", "href"): representation.href,
        _q("xlink", "title"): "grp-rep1"})
    return _serialize(mets)


def representation_mets(header: Header, documents: Sequence[DocumentRefs],
                        premis: FileRef | None) -> bytes:
    """representations/rep1/METS.xml: each document's EAD_doc (dmdSec) and PDF (fileSec)."""
    mets = _root(header, "rep1", "../../schemas/")
    for n, doc in enumerate(documents, start=1):
        _md_ref(mets, "dmdSec", f"dmd-doc-{n}", doc.ead, "OTHER", header.created)
    if premis is not None:
        amd = etree.SubElement(mets, _q("mets", "amdSec"), {"ID": "amd-premis-rep1"})
        _md_ref(amd, "digiprovMD", "digiprov-premis-rep1", premis, "PREMIS", header.created)
    file_sec = etree.SubElement(mets, _q("mets", "fileSec"), {"ID": "filesec-rep1"})
    data = etree.SubElement(file_sec, _q("mets", "fileGrp"), _group("grp-data", "Data"))
    for doc in documents:
        _file(data, doc.pdf, header.created)
    struct = etree.SubElement(mets, _q("mets", "structMap"),
                              {"ID": "structmap-rep1", "TYPE": "PHYSICAL", "LABEL": "CSIP"})
    top = etree.SubElement(struct, _q("mets", "div"), {"ID": "div-rep1-root", "LABEL": "rep1"})
    meta = {"ID": "div-rep1-metadata", "LABEL": "Metadata",
            "DMDID": " ".join(f"dmd-doc-{n}" for n in range(1, len(documents) + 1))}
    if premis is not None:
        meta["ADMID"] = "digiprov-premis-rep1"
    etree.SubElement(top, _q("mets", "div"), meta)
    data_div = etree.SubElement(top, _q("mets", "div"), {"ID": "div-rep1-data", "LABEL": "Data"})
    for n, doc in enumerate(documents, start=1):
        div = etree.SubElement(data_div, _q("mets", "div"), {
            "ID": f"div-doc-{n}", "LABEL": doc.doc_id, "DMDID": f"dmd-doc-{n}"})
        etree.SubElement(div, _q("mets", "fptr"), {"FILEID": doc.pdf.id})
    return _serialize(mets)
