"""A document's PDF/A-2b from its processed pages: text layer, TT05 metadata, identification, refusals."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pikepdf
import pytest
from click.testing import CliRunner
from PIL import Image

from device.archive.document_pdf import build_document_pdf
from device.errors import NotFoundError, StateError
from tests.conftest import BOX_CONFIG, VALID_DOSSIER

CODE = VALID_DOSSIER["fileCode"]
DOC_ID = f"{CODE}.1"
FIELDS = {"subject": "Về việc thành lập tổ dân phố Đồng Tâm", "organName": "Ủy ban nhân dân xã Thử",
          "typeName": "02", "codeNumber": "12", "codeNotation": "QĐ-UBND",
          "issuedDate": "19/09/2025", "keyword": "tổ dân phố"}
TEXTS = ("ỦY BAN NHÂN DÂN XÃ THỬ\n\nQUYẾT ĐỊNH\nVề việc thành lập tổ dân phố Đồng Tâm\n"
         "Điều 1. Thành lập tổ dân phố Đồng Tâm thuộc xã Thử.",
         "Điều 2. Quyết định này có hiệu lực kể từ ngày ký.\nĐiều 3. Văn phòng và các tổ dân phố"
         " chịu trách nhiệm thi hành Quyết định này.")


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def run(argv: list[str]) -> str:
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} is not installed")
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True).stdout


@pytest.fixture(scope="module")
def document_box(tmp_path_factory):
    """A box with one document of two processed pages and its TT05 fields filled in."""
    from device.box import Box
    from device.capture.render import render_page
    from device.catalog.documents import set_document_fields
    from device.catalog.dossiers import create_dossier
    from device.config import load_config
    from device.intake import import_files
    from device.ocr.engine import OcrEngine
    from device.provision import init_box
    from device.worker import run_once

    root = tmp_path_factory.mktemp("document")
    (root / "sohoa.toml").write_text(BOX_CONFIG, encoding="utf-8")
    config = load_config(root / "sohoa.toml", root / "data", environ={})
    init_box(config, actor="test")
    files = []
    for number, text in enumerate(TEXTS, start=1):
        path = root / f"p{number}.png"
        Image.fromarray(render_page(text, 300).image).save(path, dpi=(300, 300))
        files.append(path)
    with Box.open(config) as box, OcrEngine() as engine:
        create_dossier(box, dict(VALID_DOSSIER), actor="test")
        import_files(box, CODE, files, actor="test")
        set_document_fields(box, DOC_ID, FIELDS, actor="test")
        assert run_once(box, engine).processed == 2
        out = root / f"{DOC_ID}.pdf"
        build_document_pdf(box, DOC_ID, out)
        pages = list(box.db.query("SELECT * FROM pages ORDER BY position"))
        masters = [box.blobs.read(page["master_sha256"]) for page in pages]
    return root, config, out, pages, masters


def test_text_layer_is_the_pages_ocr_text_in_order(document_box):
    _, _, out, pages, _ = document_box
    extracted = run(["pdftotext", "-raw", "-enc", "UTF-8", str(out), "-"])
    assert collapse(extracted) == collapse(" ".join(page["ocr_text"] for page in pages))
    assert "thành lập tổ dân phố" in extracted


def test_pages_are_the_masters_at_their_dpi_with_tt05_metadata(document_box):
    _, _, out, pages, masters = document_box
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 2
        for pdf_page, page, master in zip(pdf.pages, pages, masters):
            (image,) = pdf_page.Resources.XObject.values()
            assert image.read_raw_bytes() == master
            assert float(pdf_page.MediaBox[2]) == pytest.approx(image.Width * 72 / page["dpi"])
        meta = pdf.open_metadata()
        assert meta.pdfa_status == "2B"
        assert meta["dc:title"] == FIELDS["subject"]
        assert meta["dc:identifier"] == DOC_ID
        assert pdf.docinfo.Author == FIELDS["organName"]
        assert meta["dc:description"] == "Quyết định số 12/QĐ-UBND ngày 19/09/2025"
        assert meta["pdf:Keywords"] == "tổ dân phố"
        (intent,) = pdf.Root.OutputIntents
        assert intent.S == pikepdf.Name.GTS_PDFA1 and intent.DestOutputProfile.N == 3
        for page in pdf.pages:
            for _, font in page.Resources.Font.items():
                assert "/ToUnicode" in font
                assert all("/FontFile2" in d.FontDescriptor for d in font.DescendantFonts)


def test_fido_identifies_the_document_as_pdfa_2b(document_box):
    _, _, out, _, _ = document_box
    fido = Path(sys.executable).with_name("fido")
    if not fido.exists():
        pytest.skip("opf-fido is not installed")
    line = run([str(fido), "-q", "-nocontainer", str(out)]).strip().splitlines()[-1]
    assert line.startswith("OK,") and ",fmt/477," in line


def test_the_cli_writes_docid_pdf_in_the_current_folder(document_box, tmp_path, monkeypatch):
    from device.cli.main import cli

    root, config, out, _, _ = document_box
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["--data", str(config.paths.data_dir), "--config",
                                      str(root / "sohoa.toml"), "document", "pdf", DOC_ID])
    assert result.exit_code == 0, result.output
    assert (tmp_path / f"{DOC_ID}.pdf").read_bytes()[:8] == b"%PDF-1.7"


def test_a_page_not_processed_or_failed_is_refused_and_nothing_is_written(box, dossier_code,
                                                                          tmp_path, page_png):
    from device.intake import import_files

    import_files(box, dossier_code, [page_png, page_png], actor="test")
    out = tmp_path / "doc.pdf"
    with pytest.raises(StateError) as waiting:
        build_document_pdf(box, f"{dossier_code}.1", out)
    assert "page 1, 2 not processed yet" in str(waiting.value)
    assert "chưa xử lý xong" in waiting.value.message_vi
    box.db.conn.execute("UPDATE pages SET state = 'failed', error = 'InputError: damaged'"
                        " WHERE position = 2")
    with pytest.raises(StateError) as failed:
        build_document_pdf(box, f"{dossier_code}.1", out)
    assert "page 2" in str(failed.value) and "InputError: damaged" in str(failed.value)
    assert "xử lý không thành công" in failed.value.message_vi
    with pytest.raises(NotFoundError):
        build_document_pdf(box, f"{dossier_code}.9", out)
    assert not out.exists()
