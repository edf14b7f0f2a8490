"""TT05 packages of an approved dossier: layout, checksums, METS XSD, PREMIS, EAD fields, freezing."""

from __future__ import annotations

import hashlib
import posixpath
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from device.archive import ead, mets
from device.archive.package import build_package, render_package
from device.archive.validate import validate_package
from device.catalog.dossiers import load, move
from device.catalog.effective import document_values, dossier_values
from device.db import records
from device.db.events import events_for
from device.db.pages import dossier_counts
from device.errors import StateError
from device.records.schema import document_fields, dossier_fields
from tests.device.archive.conftest import CODE, open_box

NS = {**mets.NS, "premis": "http://www.loc.gov/premis/v3"}


def entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_zip_has_the_tt05_aip_hoso_layout(approved_box):
    info = build_package(approved_box, CODE, actor="minh")
    root = f"urn_uuid_{info.package_id}"
    rep = f"{root}/representations/rep1"
    doc_ids = [f"{CODE}.1", f"{CODE}.2"]
    assert sorted(entries(info.path)) == sorted([
        f"{root}/METS.xml",
        f"{root}/documentation/README.txt",  # not in TT05's list: the E-ARK validator wants it
        f"{root}/metadata/descriptive/EAD.xml",
        f"{root}/metadata/preservation/PREMIS.xml",
        f"{rep}/METS.xml",
        *(f"{rep}/data/{doc_id}.pdf" for doc_id in doc_ids),
        f"{rep}/metadata/descriptive/EAD_doc_1.xml", f"{rep}/metadata/descriptive/EAD_doc_2.xml",
        f"{rep}/metadata/preservation/PREMIS_rep1.xml",
        *(f"{root}/schemas/{name}" for name in mets.PACKAGE_SCHEMAS)])
    assert info.path.parent == approved_box.config.paths.outbox
    assert hashlib.sha256(info.path.read_bytes()).hexdigest() == info.sha256
    assert info.size == info.path.stat().st_size and info.built
    with zipfile.ZipFile(info.path) as archive:  # JPEG-filled PDFs are stored, XML deflated
        kinds = {i.filename.rsplit(".", 1)[1]: i.compress_type for i in archive.infolist()}
    assert kinds["pdf"] == zipfile.ZIP_STORED and kinds["xml"] == zipfile.ZIP_DEFLATED


def test_every_file_is_listed_with_its_right_sha256_and_size(approved_box):
    files = entries(build_package(approved_box, CODE, actor="minh").path)
    listed = {}
    for name, data in files.items():
        if not name.endswith("METS.xml"):
            continue
        tree = etree.fromstring(data)
        for element in tree.iter(f"{{{NS['mets']}}}file", f"{{{NS['mets']}}}mdRef"):
            located = element.find("mets:FLocat", NS) if element.tag.endswith("}file") else element
            href = located.get(f"{{{NS['xlink']}}}href")
            target = posixpath.normpath(posixpath.join(posixpath.dirname(name), href))
            assert element.get("CHECKSUMTYPE") == "SHA-256"
            listed[target] = (element.get("CHECKSUM"), int(element.get("SIZE")))
    root_mets = next(name for name in files if name.count("/") == 1 and name.endswith("METS.xml"))
    assert set(listed) == set(files) - {root_mets}
    for name, (checksum, size) in listed.items():
        assert (hashlib.sha256(files[name]).hexdigest(), len(files[name])) == (checksum, size), name


def test_both_mets_files_are_valid_against_the_mets_1_12_and_csip_xsds(approved_box):
    files = entries(build_package(approved_box, CODE, actor="minh").path)
    schema = mets.mets_schema()
    found = [name for name in files if name.endswith("METS.xml")]
    assert len(found) == 2
    for name in found:
        tree = etree.fromstring(files[name])
        assert schema.validate(tree), (name, schema.error_log)
        assert tree.get("PROFILE") == "https://earkcsip.dilcis.eu/profile/E-ARK-CSIP.xml"
        header = tree.find("mets:metsHdr", NS)
        assert header.get(f"{{{NS['csip']}}}OAISPACKAGETYPE") == "AIP"
        assert header.get("CREATEDATE").endswith("+07:00")
    root = etree.fromstring(files[min(found, key=len)])
    assert root.get("TYPE") == "Mixed" and root.get("OBJID").startswith("urn:uuid:")
    notes = root.findall("mets:metsHdr/mets:agent/mets:note", NS)
    codes = {n.get(f"{{{NS['csip']}}}NOTETYPE"): n.text for n in notes}
    assert codes["IDENTIFICATIONCODE"] == "P01"  # the mã phông
    # The representation's PHYSICAL structMap links each EAD_doc to its PDF.
    rep = etree.fromstring(files[max(found, key=len)])
    divs = rep.findall(".//mets:structMap[@TYPE='PHYSICAL']//mets:div[@DMDID]/mets:fptr/..", NS)
    links = {}
    for div in divs:
        dmd = rep.find(f"mets:dmdSec[@ID='{div.get('DMDID')}']/mets:mdRef", NS)
        pdf = rep.find(f".//mets:file[@ID='{div.find('mets:fptr', NS).get('FILEID')}']/mets:FLocat", NS)
        links[dmd.get(f"{{{NS['xlink']}}}href")] = pdf.get(f"{{{NS['xlink']}}}href")
    assert links == {f"metadata/descriptive/EAD_doc_{n}.xml": f"data/{CODE}.{n}.pdf" for n in (1, 2)}


def test_premis_records_fixity_pdfa_format_and_events_from_the_audit_trail(approved_box):
    info = build_package(approved_box, CODE, actor="minh")
    files = entries(info.path)
    rep_premis = etree.fromstring(next(v for k, v in files.items() if k.endswith("PREMIS_rep1.xml")))
    assert rep_premis.tag == f"{{{NS['premis']}}}premis" and rep_premis.get("version") == "3.0"
    objects = rep_premis.findall("premis:object", NS)
    assert len(objects) == 2
    for obj in objects:
        path = obj.findtext("premis:objectIdentifier/premis:objectIdentifierValue", None, NS)
        data = next(v for k, v in files.items() if k.endswith("/rep1/" + path))
        assert obj.findtext(".//premis:messageDigest", None, NS) == hashlib.sha256(data).hexdigest()
        assert obj.findtext(".//premis:messageDigestAlgorithm", None, NS) == "SHA-256"
        assert obj.findtext(".//premis:formatRegistryKey", None, NS) == "fmt/477"
    events = rep_premis.findall("premis:event", NS)
    assert [e.findtext("premis:eventType", None, NS) for e in events] == ["transfer", "transfer"]
    # The digitization time is the last page.process of the document's pages, in +07:00.
    first_doc = records.documents_of(approved_box.db, load(approved_box, CODE)["id"])[0]
    pages = [p["id"] for p in approved_box.db.query("SELECT id FROM pages WHERE document_id = ?",
                                                      [first_doc["id"]])]
    processed = max(e["at"] for p in pages for e in events_for(approved_box.db, "page", p)
                    if e["action"] == "page.process")
    from device.archive.package_files import vn_time
    assert events[0].findtext("premis:eventDateTime", None, NS) == vn_time(processed)
    agents = {a.findtext("premis:agentName", None, NS) for a in rep_premis.findall("premis:agent", NS)}
    assert agents == {"SoHoa Box", "lan"}  # the software and the operator who shot the pages
    package_premis = etree.fromstring(next(v for k, v in files.items() if k.endswith("/PREMIS.xml")))
    [event] = package_premis.findall("premis:event", NS)
    assert event.findtext("premis:eventType", None, NS) == "information package creation"
    roles = [r.text for r in event.findall(".//premis:linkingAgentRole", NS)]
    assert roles == ["executing program", "authorizer", "owner"]


def test_ead_files_hold_the_dossiers_tt05_values(approved_box):
    files = entries(build_package(approved_box, CODE, actor="minh").path)
    dossier = load(approved_box, CODE)
    expected = dossier_values(dossier, dossier_counts(approved_box.db, dossier["id"]))
    got = ead.read_simpledc(next(v for k, v in files.items() if k.endswith("/EAD.xml")))
    assert list(got) == list(dossier_fields())
    assert got == {name: ead.as_text(expected.get(name)) for name in dossier_fields()}
    assert (got["fileCode"], got["totalDoc"], got["numberOfPage"], got["language"]) == \
        (CODE, "2", "4", "01")
    for n, row in enumerate(records.documents_of(approved_box.db, dossier["id"]), start=1):
        values = document_values(row, dossier)
        got = ead.read_simpledc(next(v for k, v in files.items() if k.endswith(f"/EAD_doc_{n}.xml")))
        assert got == {name: ead.as_text(values.get(name)) for name in document_fields()}
        assert got["docId"] == f"{CODE}.{n}" and got["numberOfPage"] == "2"
    assert "Bút phê" in got["autograph"]


def test_the_package_passes_the_validator_and_the_dossier_is_packaged(approved_box):
    info = build_package(approved_box, CODE, actor="minh")
    verdict = validate_package(info.path)
    assert verdict.ok, verdict.reasons
    assert (verdict.package_id, verdict.kind, verdict.file_code, verdict.documents, verdict.pages) == \
        (info.package_id, "AIP", CODE, 2, 4)
    dossier = load(approved_box, CODE)
    assert dossier["state"] == "packaged"
    [event] = [e for e in events_for(approved_box.db, "dossier", dossier["id"])
               if e["action"] == "dossier.package"]
    assert event["actor"] == "minh" and event["details"]["sha256"] == info.sha256
    assert (event["details"]["from"], event["details"]["to"]) == ("approved", "packaged")


def test_building_the_same_version_twice_gives_the_same_bytes(approved_box, tmp_path):
    dossier = load(approved_box, CODE)
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    assert render_package(approved_box, dossier, "aip", first) == \
        render_package(approved_box, dossier, "aip", second)
    assert first.read_bytes() == second.read_bytes()
    assert build_package(approved_box, CODE, actor="minh").sha256 == \
        hashlib.sha256(first.read_bytes()).hexdigest()


def test_a_second_call_returns_the_frozen_package_without_rebuilding(approved_box):
    first = build_package(approved_box, CODE, actor="minh")
    stamp = first.path.stat().st_mtime_ns, first.path.stat().st_ino
    again = build_package(approved_box, CODE, actor="someone-else")
    assert again.path == first.path and again.sha256 == first.sha256 and not again.built
    assert (again.path.stat().st_mtime_ns, again.path.stat().st_ino) == stamp
    assert list(approved_box.config.paths.outbox.iterdir()) == [first.path]
    count = approved_box.db.conn.execute("SELECT count(*) FROM packages").fetchone()[0]
    assert count == 1


def test_a_sip_is_built_beside_the_aip_without_a_second_lifecycle_move(approved_box):
    aip = build_package(approved_box, CODE, actor="minh")
    sip = build_package(approved_box, CODE, kind="sip", actor="minh")
    assert sip.package_id != aip.package_id and sip.sha256 != aip.sha256
    names = entries(sip.path)
    root = f"uuid-{sip.package_id.upper()}"
    assert f"{root}/METS.xml" in names and not any("PREMIS" in n for n in names)
    assert validate_package(sip.path).kind == "SIP"
    assert load(approved_box, CODE)["state"] == "packaged"


def test_a_reopened_dossier_builds_a_new_version_that_names_the_one_it_supersedes(approved_box):
    from device.catalog.dossiers import approve, set_dossier_fields

    old = build_package(approved_box, CODE, actor="minh")
    move(approved_box, CODE, "reopen", actor="minh", comment="sửa tiêu đề")
    set_dossier_fields(approved_box, CODE, {"title": "Hồ sơ về việc thành lập xã (sửa)"}, actor="lan")
    approve(approved_box, CODE, actor="minh")
    new = build_package(approved_box, CODE, actor="minh")
    assert new.dossier_version == 2 and new.supersedes_package_id == old.package_id
    assert new.package_id != old.package_id and new.sha256 != old.sha256
    assert old.path.read_bytes() and old.path.is_file()  # the old package stays frozen
    files = entries(new.path)
    root = etree.fromstring(files[f"urn_uuid_{new.package_id}/METS.xml"])
    header = root.find("mets:metsHdr", NS)
    assert header.get("RECORDSTATUS") == "REPLACEMENT"
    assert header.findtext("mets:altRecordID[@TYPE='SUPERSEDES']", None, NS) == \
        f"urn:uuid:{old.package_id}"
    premis = etree.fromstring(files[f"urn_uuid_{new.package_id}/metadata/preservation/PREMIS.xml"])
    assert premis.findtext(".//premis:relatedObjectIdentifierValue", None, NS) == \
        f"urn:uuid:{old.package_id}"
    assert validate_package(new.path).ok


def test_a_dossier_that_is_not_approved_is_refused_and_nothing_is_written(approved_box):
    move(approved_box, CODE, "reopen", actor="minh")
    with pytest.raises(StateError, match="cannot package a dossier that is draft"):
        build_package(approved_box, CODE, actor="minh")
    outbox = approved_box.config.paths.outbox
    assert not outbox.exists() or list(outbox.iterdir()) == []
    assert approved_box.db.conn.execute("SELECT count(*) FROM packages").fetchone()[0] == 0


def test_a_secret_dossier_is_packaged_but_flagged(approved_root):
    with open_box(approved_root) as box:
        dossier = load(box, CODE)
        fields = dict(dossier["fields"], mode={"value": "03", "source": "entered"})
        records.update_dossier(box.db, dossier["id"], fields=fields, network_allowed=False)
        info = build_package(box, CODE, actor="minh")
        assert not info.network_allowed and validate_package(info.path).ok
        [event] = [e for e in events_for(box.db, "dossier", dossier["id"])
                   if e["action"] == "dossier.package"]
        assert event["details"]["networkAllowed"] is False


def test_the_package_pdfs_are_still_identified_as_pdfa_2b(approved_box, tmp_path):
    """The packager re-saves each PDF (fixed dates and ids); PRONOM must still say fmt/477."""
    import subprocess
    import sys

    fido = Path(sys.executable).with_name("fido")
    if not fido.exists():
        pytest.skip("opf-fido is not installed")
    files = entries(build_package(approved_box, CODE, actor="minh").path)
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(next(v for k, v in files.items() if k.endswith(f"{CODE}.1.pdf")))
    line = subprocess.run([str(fido), "-q", "-nocontainer", str(pdf)], capture_output=True,
                          text=True, timeout=120, check=True).stdout.strip().splitlines()[-1]
    assert line.startswith("OK,") and ",fmt/477," in line


def test_sohoa_package_prints_the_zip_path_and_returns_the_same_one_again(approved_root):
    from tests.device.cli.conftest import Sohoa

    sohoa = Sohoa(approved_root / "data", approved_root / "sohoa.toml")
    first = sohoa("package", CODE)
    assert first.exit_code == 0, first.stderr
    path = Path(first.stdout.strip())
    assert path.is_file() and path.parent == approved_root / "data" / "outbox"
    again = sohoa("package", CODE, "--json")
    assert again.exit_code == 0 and '"built": false' in again.stdout and str(path) in again.stdout
    refused = sohoa("package", "H49.64.33.2001.999")
    assert refused.exit_code == 66 and "Traceback" not in refused.stderr
