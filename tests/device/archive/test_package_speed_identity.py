"""The faster packaging path writes the same bytes as the slow one it replaced.

The package used to save each document's PDF, reopen it, stamp it and save it again, and to
query the audit trail once per page. The references below are those routes, kept here so
the package's SHA-256 (its identity) is checked against them on the same dossier version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from pathlib import Path

import pikepdf
import pytest

from device.archive import package_files as pf
from device.archive.document_pdf import build_document_pdf
from device.archive.package import render_package
from device.archive.pdf import _encode
from device.catalog.dossiers import load
from device.db import records
from device.db.events import events_for
from device.db.pages import pages_of
from device.files import atomic_output
from tests.device.archive.conftest import CODE


def two_pass_document_pdf(box, row, staging: Path, created: dt.datetime, version: int) -> Path:
    """The route before: the PDF saved as a draft, reopened, stamped and saved again."""
    draft = staging / f"draft-{row['id']}.pdf"
    build_document_pdf(box, row, draft)
    final = staging / f"doc-{row['id']}.pdf"
    stamp = created.astimezone(dt.timezone.utc).isoformat(timespec="seconds")
    with pikepdf.open(draft) as pdf:
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            identifier = meta.get("dc:identifier", str(row["id"]))
            for key in ("xmp:CreateDate", "xmp:ModifyDate", "xmp:MetadataDate"):
                meta[key] = stamp
            meta["xmpMM:InstanceID"] = "uuid:" + str(uuid.uuid5(
                uuid.NAMESPACE_URL, f"sohoa:document:{identifier}:v{version}"))
        if "/ID" in pdf.trailer:
            del pdf.trailer.ID
        with atomic_output(final) as handle:
            pdf.save(handle, force_version="1.7", fix_metadata_version=False, deterministic_id=True,
                     object_stream_mode=pikepdf.ObjectStreamMode.disable)
    draft.unlink()
    return final


def per_page_trail(box, dossier) -> dict[tuple[str, str], list[dict]]:
    """The audit trail as it used to be read: one query per page and per document."""
    trail = {}
    for row in records.documents_of(box.db, dossier["id"]):
        trail[("document", str(row["id"]))] = events_for(box.db, "document", row["id"])
        for page in pages_of(box.db, row["id"]):
            trail[("page", str(page["id"]))] = events_for(box.db, "page", page["id"])
    return trail


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_each_document_pdf_saved_once_has_the_bytes_of_the_two_pass_route(approved_box, tmp_path):
    dossier = load(approved_box, CODE)
    created = dt.datetime(2026, 3, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    rows = records.documents_of(approved_box.db, dossier["id"])
    assert len(rows) == 2
    for row in rows:
        old = two_pass_document_pdf(approved_box, row, tmp_path / "old", created, 3)
        new = pf.document_pdf(approved_box, row, tmp_path / "new", created, 3)
        assert new.read_bytes() == old.read_bytes()
    assert not list((tmp_path / "new").glob("draft-*"))  # no draft is written any more


def test_the_package_has_the_sha256_of_the_slow_route(approved_box, tmp_path, monkeypatch):
    dossier = load(approved_box, CODE)
    fast = tmp_path / "fast.zip"
    render_package(approved_box, dossier, "aip", fast)
    monkeypatch.setattr(pf, "document_pdf", two_pass_document_pdf)
    monkeypatch.setattr(pf, "audit_trail", per_page_trail)
    slow = tmp_path / "slow.zip"
    render_package(approved_box, dossier, "aip", slow)
    assert sha256(fast) == sha256(slow)


def test_the_dossier_trail_read_at_once_holds_each_pages_events(approved_box):
    dossier = load(approved_box, CODE)
    trail = pf.audit_trail(approved_box, dossier)
    for key, events in per_page_trail(approved_box, dossier).items():
        assert sorted(e["id"] for e in trail.get(key, [])) == [e["id"] for e in events]
    assert any(key[0] == "page" and events for key, events in trail.items())


@pytest.mark.parametrize("text", ["quyết định", "Đồng Tâm", "a\U0001F600b", "x\ud800y", "", "\U0001F600"])
def test_the_fast_utf16_encoding_drops_what_the_glyphless_font_cannot_map(text):
    kept = "".join(c for c in text if ord(c) <= 0xFFFF and not 0xD800 <= ord(c) <= 0xDFFF)
    assert _encode(text) == kept.encode("utf-16-be")
