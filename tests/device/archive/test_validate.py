"""The package validator refuses unsafe or lying zips, each with its reason, and writes nothing."""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from pathlib import Path

import pikepdf
import pytest

from device.archive.package import build_package
from device.archive.pdf_check import _bounded_xmp, pdf_problems
from device.archive.validate import PackageLimits, validate_package
from tests.device.archive.conftest import CODE


def tree_of(*folders: Path) -> list[tuple[str, int]]:
    """Every file under the folders, with its size: proof that validation wrote nothing."""
    return sorted((str(p), p.stat().st_size) for folder in folders for p in folder.rglob("*"))


@pytest.fixture(autouse=True)
def empty_working_folder(tmp_path_factory, monkeypatch) -> None:
    """Each check runs in a folder of its own, so "nothing written there" is about the
    validator alone (not the repository other processes may be writing to)."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
def package(approved_box) -> Path:
    return build_package(approved_box, CODE, actor="minh").path


def rewrite(source: Path, target: Path, *, drop: str = "", change: str = "",
            edit=lambda data: data + b"x", add: dict[str, bytes] | None = None) -> Path:
    """A copy of the package zip with one entry dropped, one entry's bytes changed, or more."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if drop and info.filename.endswith(drop):
                continue
            data = old.read(info)
            if change and info.filename.endswith(change):
                data = edit(data)
            new.writestr(info, data)
        for name, data in (add or {}).items():
            new.writestr(name, data)
    return target


def refused(path: Path, reason: str, limits: PackageLimits = PackageLimits()) -> list[str]:
    before = tree_of(path.parent, Path.cwd())
    verdict = validate_package(path, limits=limits)
    assert tree_of(path.parent, Path.cwd()) == before  # nothing extracted or written
    assert not verdict.ok and any(r.startswith(reason) for r in verdict.reasons), verdict.reasons
    return verdict.reasons


def test_a_built_package_is_valid(package):
    verdict = validate_package(package)
    assert verdict.ok and verdict.reasons == [] and verdict.kind == "AIP"


def test_a_non_zip_is_refused(tmp_path):
    path = tmp_path / "x.zip"
    path.write_bytes(b"%PDF-1.7 not a zip at all" * 100)
    refused(path, "zip.corrupt")


def test_a_truncated_zip_is_refused(package, tmp_path):
    path = tmp_path / "cut.zip"
    path.write_bytes(package.read_bytes()[: package.stat().st_size * 2 // 3])
    refused(path, "zip.corrupt")


def test_a_dot_dot_path_and_an_absolute_path_are_refused(tmp_path):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("pkg/METS.xml", b"<mets/>")
        archive.writestr("pkg/../../escape.txt", b"x")
        archive.writestr("/etc/cron.d/x", b"x")
    reasons = refused(path, "zip.unsafe_path")
    assert "zip.unsafe_path: pkg/../../escape.txt" in reasons
    assert "zip.unsafe_path: /etc/cron.d/x" in reasons
    assert not (tmp_path.parent / "escape.txt").exists()


def test_a_symlink_entry_is_refused(tmp_path):
    path = tmp_path / "link.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("pkg/METS.xml", b"<mets/>")
        link = zipfile.ZipInfo("pkg/data/passwd")
        link.create_system = 3
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
    assert refused(path, "zip.symlink") == ["zip.symlink: pkg/data/passwd"]


def test_a_zip_bomb_is_refused_by_its_ratio(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("pkg/METS.xml", b"<mets/>")
        with archive.open("pkg/zeros.bin", "w") as sink:
            block = bytes(1 << 20)
            for _ in range(200):
                sink.write(block)
    assert path.stat().st_size < 1 << 20
    refused(path, "zip.bomb: pkg/zeros.bin expands")


def test_a_zip_above_the_total_size_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("pkg/a.bin", os.urandom(600_000))
        archive.writestr("pkg/b.bin", os.urandom(600_000))
    refused(path, "zip.bomb: declares 1200000", PackageLimits(max_total_uncompressed=1 << 20))


def test_too_many_entries_are_refused(tmp_path):
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for n in range(30):
            archive.writestr(f"pkg/{n}.txt", b"x")
    refused(path, "zip.too_many_entries: 30 > 20", PackageLimits(max_entries=20))


def test_a_checksum_that_lies_is_refused(package, tmp_path):
    path = rewrite(package, tmp_path / "lie.zip", change=f"{CODE}.2.pdf")
    reasons = refused(path, "mets.checksum_mismatch")
    assert any(r.startswith("mets.checksum_mismatch") and r.endswith(f"data/{CODE}.2.pdf")
               for r in reasons)


def test_a_missing_file_is_refused(package, tmp_path):
    path = rewrite(package, tmp_path / "missing.zip", drop="EAD_doc_2.xml")
    assert any(r.endswith("EAD_doc_2.xml") for r in refused(path, "mets.missing_file"))


def test_a_file_that_no_mets_lists_is_refused(package, tmp_path):
    root = zipfile.ZipFile(package).namelist()[0].split("/")[0]
    path = rewrite(package, tmp_path / "extra.zip", add={f"{root}/representations/rep1/data/x.pdf": b"%PDF"})
    assert refused(path, "mets.unlisted_file") == \
        [f"mets.unlisted_file: {root}/representations/rep1/data/x.pdf"]


def test_a_mets_that_breaks_the_xsd_is_refused(package, tmp_path):
    root = zipfile.ZipFile(package).namelist()[0].split("/")[0]
    path = rewrite(package, tmp_path / "xsd.zip", change=f"{root}/METS.xml",
                   edit=lambda data: data.replace(b'TYPE="Mixed"', b'TYPE="Mixed" COLOUR="red"', 1))
    refused(path, "mets.xsd_invalid")


def test_an_entity_expansion_in_mets_is_not_expanded(package, tmp_path):
    root = zipfile.ZipFile(package).namelist()[0].split("/")[0]
    laughs = (b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa">'
              b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><m>&b;</m>')
    path = rewrite(package, tmp_path / "laughs.zip", change=f"{root}/METS.xml", edit=lambda _: laughs)
    refused(path, "mets.xsd_invalid")


def test_a_pdf_without_pdfa_marks_is_named(tmp_path):
    plain = io.BytesIO()
    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        pdf.save(plain, force_version="1.7")
    path = tmp_path / "plain.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("pkg/data/a.pdf", plain.getvalue())
    with zipfile.ZipFile(path) as archive:
        pages, problems = pdf_problems(archive, archive.getinfo("pkg/data/a.pdf"))
    assert pages == 1
    assert problems == ["XMP does not declare pdfaid part 2 conformance B", "no OutputIntent"]


def test_the_package_pdfs_carry_pdfa_2b_marks_read_in_place(package):
    with zipfile.ZipFile(package) as archive:
        pdfs = [i for i in archive.infolist() if i.filename.endswith(".pdf")]
        assert [pdf_problems(archive, info) for info in pdfs] == [(2, []), (2, [])]


def test_many_small_xml_entries_that_inflate_are_refused_before_they_are_held(tmp_path):
    """Each entry is 1 MiB of XML from 1 KiB: under the old 1 MiB ratio floor, a 20 MB upload
    could have made the hub hold gigabytes of XML."""
    bomb = tmp_path / "xml-bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        for number in range(50):
            archive.writestr(f"root/x{number:05d}.xml", b"<a>" + b" " * ((1 << 20) - 7) + b"</a>")
    assert any(reason.startswith("zip.bomb") for reason in refused(bomb, "zip.bomb"))


def test_an_xmp_stream_that_inflates_is_not_decoded_whole(tmp_path):
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.Metadata = pikepdf.Stream(pdf, zlib.compress(b"\0" * (64 << 20), 9))
    pdf.Root.Metadata.Filter = pikepdf.Name.FlateDecode
    buffer = io.BytesIO()
    pdf.save(buffer, fix_metadata_version=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    holder = tmp_path / "pdf.zip"
    with zipfile.ZipFile(holder, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("root/x.pdf", buffer.getvalue())
    with zipfile.ZipFile(holder) as archive:
        _, problems = pdf_problems(archive, archive.getinfo("root/x.pdf"))
    assert "XMP does not declare pdfaid part 2 conformance B" in problems
    assert len(_bounded_xmp(pdf.Root.Metadata)) == 4 << 20  # decoded 4 MiB, not 64


def test_a_zip_declaring_too_many_entries_is_refused_before_its_directory_is_read(tmp_path):
    bomb = tmp_path / "directory-bomb.zip"
    with zipfile.ZipFile(bomb, "w") as archive:
        for number in range(120):
            archive.writestr(f"root/{number}", b"")
    refused(bomb, "zip.too_many_entries", PackageLimits(max_entries=100))


def test_a_zip64_archive_is_counted_from_its_own_end_record(tmp_path):
    big = tmp_path / "zip64.zip"
    with zipfile.ZipFile(big, "w") as archive:
        for number in range(70_000):  # over 65535 entries: zipfile writes zip64 end records
            archive.writestr(f"root/{number}", b"")
    reasons = refused(big, "zip.too_many_entries")
    assert reasons == ["zip.too_many_entries: 70000 > 20000"]
