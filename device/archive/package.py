"""Builds, validates and freezes the TT05 package (AIP_hoso or SIP_hoso zip) of a dossier version.

A package is built once per dossier version and kind, validated with `validate_package`,
stored in `<data_dir>/outbox/` by an atomic rename, recorded in `packages`, and never rebuilt:
asking again returns the frozen file. Its bytes are a function of the approved version
(fixed entry times from the approval, sorted entries, a package id derived from the version),
so `render_package` of the same version twice gives the same SHA-256.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.archive import mets, premis
from device.archive import package_files as pf
from device.archive.validate import PackageLimits, validate_package
from device.box import Box
from device.catalog.dossiers import load
from device.db import transaction
from device.db import packages as package_rows
from device.db import records
from device.db.events import record_event
from device.errors import InputError, IntegrityError, StateError
from device.files import fsync_folder
from device.records import lifecycle

log = logging.getLogger(__name__)

KINDS = ("aip", "sip")
_READY = frozenset({lifecycle.S.APPROVED, lifecycle.S.SIGNED})
# Another kind of package may still be built for a version that is already packaged or sent.
_PACKAGED = frozenset({lifecycle.S.PACKAGED, lifecycle.S.SENT, lifecycle.S.ACCEPTED,
                       lifecycle.S.REJECTED})
_CHUNK = 1 << 20


@dataclass(frozen=True)
class PackageInfo:
    """A frozen package: where it is and what identifies it."""

    package_id: str
    kind: str
    sha256: str
    size: int
    path: Path
    file_code: str
    dossier_version: int
    supersedes_package_id: str | None
    network_allowed: bool
    built: bool  # False when an existing frozen package was returned


def build_package(box: Box, file_code: str, *, kind: str = "aip", actor: str,
                  version: int | None = None) -> PackageInfo:
    """The package of the dossier's current version: the frozen one if it exists, else built,
    validated, stored and recorded, moving the dossier approved/signed → packaged.
    With `version`, refuses (StateError) when the dossier is no longer at that version."""
    if kind not in KINDS:
        raise InputError(f"unknown package kind {kind!r}; use aip or sip",
                         message_vi="Loại gói phải là aip hoặc sip")
    dossier = load(box, file_code)
    if version is not None and dossier["version"] != version:
        raise StateError(f"dossier {file_code} is at version {dossier['version']}, not {version}",
                         message_vi=f"Hồ sơ {file_code} đã sang phiên bản khác; không đóng gói "
                                    f"phiên bản {version}")
    existing = package_rows.package_for_version(box.db, dossier["id"], dossier["version"], kind)
    if existing is not None:
        return _info(box, dossier, existing, built=False)
    state = lifecycle.DossierState(dossier["state"])
    if state not in _READY | _PACKAGED:
        lifecycle.next_state(state, "package")  # raises the standard StateError
    earlier = package_rows.latest_earlier_package(box.db, dossier["id"], dossier["version"], kind)
    supersedes = earlier["package_id"] if earlier else None
    outbox = box.config.paths.outbox
    outbox.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".staging-", dir=outbox) as staging:
        staged = Path(staging) / "package.zip"
        package_id = render_package(box, dossier, kind, staged, supersedes=supersedes)
        verdict = validate_package(staged, limits=PackageLimits())
        if not verdict.ok:
            raise IntegrityError(f"package of {file_code} v{dossier['version']} failed validation "
                                 f"and was not recorded: {'; '.join(verdict.reasons)}",
                                 message_vi=f"Gói của hồ sơ {file_code} không đạt kiểm tra; "
                                            "chưa ghi nhận")
        name = f"{file_code}.v{dossier['version']}.{kind}.{package_id[:8]}.zip"
        row = _freeze(box, dossier, staged, outbox / name, kind=kind, package_id=package_id,
                      sha256=verdict.sha256, size=verdict.size, supersedes=supersedes, actor=actor)
    return _info(box, dossier, row, built=True)


def _freeze(box: Box, dossier: dict[str, Any], staged: Path, final: Path, *, kind: str,
            package_id: str, sha256: str, size: int, supersedes: str | None,
            actor: str) -> dict[str, Any]:
    """Move the validated zip into the outbox and record it, with the lifecycle move, at once."""
    try:
        with transaction(box.db):
            current = load(box, dossier["file_code"])
            if current["version"] != dossier["version"] or current["state"] != dossier["state"]:
                raise StateError(f"dossier {dossier['file_code']} changed while its package was "
                                 "built; run the command again",
                                 message_vi="Hồ sơ vừa thay đổi trong lúc đóng gói; hãy thử lại")
            os.replace(staged, final)
            fsync_folder(final.parent)
            package_rows.record_package(
                box.db, dossier_id=dossier["id"], dossier_version=dossier["version"], kind=kind,
                package_id=package_id, sha256=sha256, size=size,
                relpath=str(final.relative_to(box.config.paths.data_dir)),
                supersedes_package_id=supersedes,
                network_allowed=bool(dossier["network_allowed"]))
            details = {"fileCode": dossier["file_code"], "version": dossier["version"],
                       "kind": kind, "packageId": package_id, "sha256": sha256, "size": size,
                       "supersedes": supersedes, "networkAllowed": bool(dossier["network_allowed"])}
            if lifecycle.DossierState(dossier["state"]) in _READY:
                target = lifecycle.next_state(dossier["state"], "package")
                records.update_dossier(box.db, dossier["id"], state=target.value)
                details.update({"from": dossier["state"], "to": target.value})
            record_event(box.db, actor, "dossier.package", "dossier", dossier["id"], details)
    except sqlite3.IntegrityError:
        # Another process recorded this version's package first; its bytes are the same.
        row = package_rows.package_for_version(box.db, dossier["id"], dossier["version"], kind)
        if row is None:
            raise
        return row
    if not dossier["network_allowed"]:
        log.warning("package %s of %s is Mật (mode 03): it must not leave the box over a network",
                    package_id, dossier["file_code"])
    log.info("package %s of %s v%d (%s) frozen: %s, %d bytes", package_id, dossier["file_code"],
             dossier["version"], kind, sha256, size)
    return package_rows.package_for_version(box.db, dossier["id"], dossier["version"], kind)


def _info(box: Box, dossier: dict[str, Any], row: dict[str, Any], *, built: bool) -> PackageInfo:
    path = box.config.paths.data_dir / row["relpath"]
    if not path.is_file():
        raise IntegrityError(f"package {row['package_id']} is recorded but {path} is missing",
                             message_vi="Tệp gói đã ghi nhận nhưng không còn trên đĩa")
    return PackageInfo(package_id=row["package_id"], kind=row["kind"], sha256=row["sha256"],
                       size=row["size"], path=path, file_code=dossier["file_code"],
                       dossier_version=row["dossier_version"],
                       supersedes_package_id=row["supersedes_package_id"],
                       network_allowed=bool(row["network_allowed"]), built=built)


def render_package(box: Box, dossier: dict[str, Any], kind: str, out_path: Path, *,
                   supersedes: str | None = None) -> str:
    """Write the package zip of the dossier's current version to `out_path` (nothing is
    recorded); returns its package id. The same version gives the same bytes."""
    approved_at, approver = pf.approval(box, dossier)
    created = dt.datetime.fromisoformat(approved_at)
    package_id = pf.derived_package_id(dossier, kind, approved_at)
    objid = pf.objid(kind, package_id)
    root = objid.replace(":", "_")
    header = mets.Header(
        objid=objid, kind=kind.upper(), label=_label(box, dossier), created=pf.vn_time(approved_at),
        fonds_code=dossier["fonds_code"], fonds_name=dossier["fonds_name"] or "",
        software=pf.SOFTWARE, software_version=pf.SOFTWARE_AGENT.version or "",
        supersedes=pf.objid(kind, supersedes) if supersedes else None)
    with tempfile.TemporaryDirectory(prefix=".render-", dir=out_path.parent) as staging:
        entries = _entries(box, dossier, header, root, Path(staging), created, approver,
                           with_premis=kind == "aip", supersedes=header.supersedes)
        _write_zip(entries, out_path, created)
    log.info("package %s of %s v%d rendered: %d files", package_id, dossier["file_code"],
             dossier["version"], len(entries))
    return package_id


def _label(box: Box, dossier: dict[str, Any]) -> str:
    title = dossier["fields"].get("title", {}).get("value") or ""
    return f"{dossier['file_code']} {title}".strip()


def _entries(box: Box, dossier: dict[str, Any], header: mets.Header, root: str, staging: Path,
             created: dt.datetime, approver: str, *, with_premis: bool,
             supersedes: str | None) -> list[pf.Entry]:
    rep = f"{root}/representations/rep1"
    entries, docs, files, events = [], [], [], []
    agents: dict[str, premis.PremisAgent] = {}
    trail = pf.audit_trail(box, dossier) if with_premis else {}
    for n, row in enumerate(pf.documents_of(box, dossier), start=1):
        doc_id, ead_bytes = pf.document_simpledc(dossier, row)
        ead = pf.Entry.of_bytes(f"{rep}/metadata/descriptive/EAD_doc_{n}.xml", ead_bytes)
        pdf = pf.Entry.of_file(f"{rep}/data/{doc_id}.pdf",
                               pf.document_pdf(box, row, staging, created, dossier["version"]))
        entries += [ead, pdf]
        docs.append(mets.DocumentRefs(doc_id, _ref(f"ead-doc-{n}", ead, rep, "text/xml"),
                                      _ref(f"file-doc-{n}", pdf, rep, "application/pdf")))
        if with_premis:
            event = pf.digitization_event(box, n, doc_id, row, f"data/{doc_id}.pdf", agents,
                                          trail)
            events.append(event)
            files.append(premis.PremisFile(f"data/{doc_id}.pdf", pdf.sha256, pdf.size, (event.id,)))
    rep_premis = None
    if with_premis:
        rep_premis = pf.Entry.of_bytes(
            f"{rep}/metadata/preservation/PREMIS_rep1.xml",
            premis.premis_xml(files, events, [pf.SOFTWARE_AGENT, *agents.values()]))
        entries.append(rep_premis)
    rep_mets = pf.Entry.of_bytes(f"{rep}/METS.xml", mets.representation_mets(
        header, docs, _ref("premis-rep1", rep_premis, rep, "text/xml") if rep_premis else None))
    schemas = pf.schema_entries(root)
    ead = pf.Entry.of_bytes(f"{root}/metadata/descriptive/EAD.xml", pf.dossier_simpledc(box, dossier))
    entries += [rep_mets, *schemas, ead]
    root_premis = None
    if with_premis:
        root_premis = pf.Entry.of_bytes(f"{root}/metadata/preservation/PREMIS.xml",
                                        _package_premis(header, approver, supersedes))
        entries.append(root_premis)
    readme = pf.Entry.of_bytes(f"{root}/documentation/README.txt", pf.readme(header, dossier))
    entries.append(readme)
    entries.append(pf.Entry.of_bytes(f"{root}/METS.xml", mets.root_mets(
        header, _ref("ead", ead, root, "text/xml"),
        _ref("premis", root_premis, root, "text/xml") if root_premis else None,
        [_ref(f"schema-{i}", s, root, "application/xml") for i, s in enumerate(schemas, 1)],
        _ref("rep1-mets", rep_mets, root, "text/xml"),
        [_ref("documentation-readme", readme, root, "text/plain")])))
    return entries


def _package_premis(header: mets.Header, approver: str, supersedes: str | None) -> bytes:
    """The package-level PREMIS: the representation, its creation event and the agents."""
    approver_agent = premis.PremisAgent(f"agent-user-{approver}", approver, "person")
    fonds = premis.PremisAgent(f"agent-fonds-{header.fonds_code}",
                               header.fonds_name or header.fonds_code, "organization")
    event = premis.PremisEvent(
        id="event-package-creation", type="information package creation", at=header.created,
        detail=f"{header.kind} {header.objid} built from the dossier version approved at "
               f"{header.created}" + (f"; supersedes {supersedes}" if supersedes else ""),
        agents=((pf.SOFTWARE_AGENT.id, "executing program"), (approver_agent.id, "authorizer"),
                (fonds.id, "owner")),
        objects=("rep1",))
    return premis.premis_xml([], [event], [pf.SOFTWARE_AGENT, approver_agent, fonds],
                             representation="rep1", supersedes=supersedes)


def _ref(ref_id: str, entry: pf.Entry, folder: str, mimetype: str) -> mets.FileRef:
    return mets.FileRef(ref_id, entry.name[len(folder) + 1:], entry.sha256, entry.size, mimetype)


def _write_zip(entries: list[pf.Entry], out_path: Path, created: dt.datetime) -> None:
    """Sorted entries, fixed times and modes: PDFs stored (JPEG does not deflate; a reader can
    open them in place), XML deflated."""
    local = created.astimezone(pf.VN)
    stamp = (max(local.year, 1980), local.month, local.day, local.hour, local.minute,
             local.second - local.second % 2)
    with out_path.open("wb") as handle, zipfile.ZipFile(handle, "w") as archive:
        for entry in sorted(entries, key=lambda e: e.name):
            info = zipfile.ZipInfo(entry.name, date_time=stamp)
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            pdf = entry.name.endswith(".pdf")
            info.compress_type = zipfile.ZIP_STORED if pdf else zipfile.ZIP_DEFLATED
            if isinstance(entry.data, bytes):
                archive.writestr(info, entry.data, compresslevel=6)
                continue
            info.file_size = entry.size
            with entry.data.open("rb") as source, archive.open(info, "w") as sink:
                for chunk in iter(lambda: source.read(_CHUNK), b""):
                    sink.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())
