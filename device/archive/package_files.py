"""The files of one TT05 package, as bytes or staged paths: PDFs, simpledc, PREMIS, METS, schemas.

Everything here is a function of the approved dossier version (its fields, pages, audit trail
and approval time), so building the same version twice gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pikepdf

from device import __version__
from device.archive import ead, mets, premis
from device.archive.document_pdf import document_pdfa
from device.box import Box
from device.catalog.effective import document_values, dossier_values
from device.db import records
from device.db.events import events_for, events_page
from device.db.pages import dossier_counts, pages_of
from device.files import atomic_output, sha256_file
from device.records.schema import document_fields, dossier_fields

log = logging.getLogger(__name__)

SOFTWARE = "SoHoa Box"
VN = dt.timezone(dt.timedelta(hours=7))
SOFTWARE_AGENT = premis.PremisAgent("agent-software", SOFTWARE, "software", __version__)
_TRAIL_LIMIT = 10_000_000  # events of one dossier: in practice a few per page


@dataclass(frozen=True)
class Entry:
    """One file of the package: its path under the package folder, and bytes or a staged file."""

    name: str
    data: bytes | Path
    sha256: str
    size: int

    @classmethod
    def of_bytes(cls, name: str, data: bytes) -> Entry:
        return cls(name, data, hashlib.sha256(data).hexdigest(), len(data))

    @classmethod
    def of_file(cls, name: str, path: Path) -> Entry:
        return cls(name, path, sha256_file(path), path.stat().st_size)


def vn_time(stamp: str) -> str:
    """A stored UTC ISO 8601 time as TT05 writes it: +07:00, seconds."""
    return dt.datetime.fromisoformat(stamp).astimezone(VN).isoformat(timespec="seconds")


def objid(kind: str, package_id: str) -> str:
    """TT05 OBJID: `urn:uuid:{uuid}` for an AIP, `uuid-{UUID}` for a SIP."""
    return f"urn:uuid:{package_id}" if kind == "aip" else f"uuid-{package_id.upper()}"


def derived_package_id(dossier: dict[str, Any], kind: str, approved_at: str) -> str:
    """A version-4-format UUID whose bits come from SHA-256 of the dossier version's identity
    instead of os.urandom: unique per (agency, fileCode, version, kind, approval), and the same
    on a rebuild, so the package's bytes are too."""
    seed = "\x1f".join((dossier["agency_id"], dossier["fonds_code"], dossier["file_code"],
                        str(dossier["version"]), kind, approved_at))
    return str(uuid.UUID(bytes=hashlib.sha256(seed.encode("utf-8")).digest()[:16], version=4))


def document_pdf(box: Box, row: dict[str, Any], staging: Path, created: dt.datetime,
                 version: int) -> Path:
    """The document's PDF/A-2b with its XMP dates set to the approval time, a stable
    InstanceID and a deterministic trailer /ID (build_document_pdf stamps the current time
    and random ids, which would change the package's bytes on every build). The PDF is built
    in memory, stamped and saved once (it used to be saved, reopened and saved again: the
    bytes are the same, as a test checks)."""
    final = staging / f"doc-{row['id']}.pdf"
    stamp = created.astimezone(dt.timezone.utc).isoformat(timespec="seconds")
    with document_pdfa(box, row) as pdf:
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            identifier = meta.get("dc:identifier", str(row["id"]))
            for key in ("xmp:CreateDate", "xmp:ModifyDate", "xmp:MetadataDate"):
                meta[key] = stamp
            meta["xmpMM:InstanceID"] = "uuid:" + str(uuid.uuid5(
                uuid.NAMESPACE_URL, f"sohoa:document:{identifier}:v{version}"))
        # qpdf keeps the first half of an existing /ID (random in the draft) in its
        # "deterministic" id; without one, both halves come from the content.
        if "/ID" in pdf.trailer:
            del pdf.trailer.ID
        with atomic_output(final) as handle:
            pdf.save(handle, force_version="1.7", fix_metadata_version=False, deterministic_id=True,
                     object_stream_mode=pikepdf.ObjectStreamMode.disable)
    return final


def dossier_simpledc(box: Box, dossier: dict[str, Any]) -> bytes:
    values = dossier_values(dossier, dossier_counts(box.db, dossier["id"]))
    return ead.simpledc_xml(values, dossier_fields())


def document_simpledc(dossier: dict[str, Any], row: dict[str, Any]) -> tuple[str, bytes]:
    values = document_values(row, dossier)
    return values["docId"], ead.simpledc_xml(values, document_fields())


def audit_trail(box: Box, dossier: dict[str, Any]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The audit events of the dossier's documents and pages, by (object type, object id):
    read in one query for the whole package, not one per page."""
    found, _ = events_page(box.db, dossier_id=dossier["id"], limit=_TRAIL_LIMIT)
    trail: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for event in found:
        trail.setdefault((event["object_type"], str(event["object_id"])), []).append(event)
    return trail


def digitization_event(box: Box, n: int, doc_id: str, row: dict[str, Any], pdf_path: str,
                       agents: dict[str, premis.PremisAgent],
                       trail: dict[tuple[str, str], list[dict[str, Any]]]) -> premis.PremisEvent:
    """One event per document from its pages' capture/import and processing audit events
    (TT05 records digitization with the PREMIS event type `transfer`); `trail` is
    `audit_trail` of the dossier."""
    pages = pages_of(box.db, row["id"])
    found = [e for page in pages for e in trail.get(("page", str(page["id"])), ())
             if e["action"] in ("page.capture", "page.process")]
    found += [e for e in trail.get(("document", str(row["id"])), ())
              if e["action"] == "document.import"]
    found.sort(key=lambda e: (e["at"], e["id"]))
    people = []
    for event in found:
        if event["action"] != "page.process" and event["actor"] not in people:
            people.append(event["actor"])
    for person in people:
        agents.setdefault(person, premis.PremisAgent(f"agent-user-{person}", person, "person"))
    at = vn_time(found[-1]["at"]) if found else vn_time(row["updated_at"])
    engines = sorted({e["details"].get("engine", "") for e in found if e["action"] == "page.process"} - {""})
    detail = (f"Số hóa (digitization) {doc_id}: {len(pages)} trang; chụp/nhập "
              f"{vn_time(found[0]['at']) if found else at} – {at}; OCR {', '.join(engines) or '-'}")
    return premis.PremisEvent(
        id=f"event-digitization-{n}", type="transfer", at=at, detail=detail,
        agents=((SOFTWARE_AGENT.id, "executing program"),
                *((agents[p].id, "implementer") for p in people)),
        objects=(pdf_path,))


def schema_entries(root: str) -> list[Entry]:
    return [Entry.of_file(f"{root}/schemas/{name}", mets.SCHEMAS / name)
            for name in mets.PACKAGE_SCHEMAS]


def approval(box: Box, dossier: dict[str, Any]) -> tuple[str, str]:
    """(time, actor) of the approval of the dossier's current version."""
    approvals = [e for e in events_for(box.db, "dossier", dossier["id"], limit=100_000)
                 if e["action"] == "dossier.approve"]
    if not approvals:
        return dossier["updated_at"], "unknown"
    return approvals[-1]["at"], approvals[-1]["actor"]


def documents_of(box: Box, dossier: dict[str, Any]) -> list[dict[str, Any]]:
    return records.documents_of(box.db, dossier["id"])


def readme(header: mets.Header, dossier: dict[str, Any]) -> bytes:
    """documentation/README.txt: what the package is, in Vietnamese and English."""
    kind = {"AIP": "AIP_hoso", "SIP": "SIP_hoso"}[header.kind]
    lines = [
        f"Gói {kind} theo Thông tư 05/2025/TT-BNV: hồ sơ {dossier['file_code']}, "
        f"phiên bản {dossier['version']}, phông {header.fonds_code}.",
        f"{kind} package (TT05/2025/TT-BNV, E-ARK CSIP 2.x): dossier {dossier['file_code']}, "
        f"version {dossier['version']}, fonds {header.fonds_code}.",
        f"OBJID {header.objid}; created {header.created}; {header.software} {header.software_version}.",
        "metadata/descriptive/EAD.xml and representations/rep1/metadata/descriptive/EAD_doc_{n}.xml "
        "hold the TT05 fields in a flat <simpledc> (named EAD by TT05; they are not EAD).",
    ]
    if header.supersedes:
        lines.append(f"Thay thế gói / supersedes {header.supersedes}.")
    return ("\n".join(lines) + "\n").encode("utf-8")
