"""The dossier and document commands: create, show, set, approve, and what they print."""

from __future__ import annotations

import sqlite3

from tests.conftest import VALID_DOSSIER

CODE = VALID_DOSSIER["fileCode"]


def test_init_is_safe_to_repeat_and_shows_the_admin_password_once(sohoa):
    again = sohoa("init")
    assert again.exit_code == 0 and "password" not in again.stdout
    secret = sohoa.data / "secrets" / "web_secret_key"
    assert len(secret.read_text()) == 64 and oct(secret.stat().st_mode)[-3:] == "600"


def test_create_prints_the_file_code_and_show_uses_tt05_names(sohoa, write_json, page_png):
    created = sohoa("dossier", "create", "--json", write_json(VALID_DOSSIER))
    assert created.exit_code == 0 and created.stdout.strip() == CODE
    assert sohoa("import", CODE, page_png, page_png).exit_code == 0
    shown = sohoa.json("dossier", "show", CODE)
    assert shown["fileCode"] == CODE and shown["maintenance"] == "01"
    assert shown["language"] == ["01"] and shown["startDate"] == "15/09/2001"
    assert (shown["totalDoc"], shown["numberOfPage"], shown["numberOfPaper"]) == (1, 2, 2)
    assert shown["state"] == "draft" and shown["agencyId"] == "H49.64.33"
    [document] = shown["documents"]
    assert document["docId"] == f"{CODE}.1" and document["docCode"] == f"{CODE}.0000001"
    assert document["mode"] == "01"  # inherited from the dossier
    assert [len(page["rawSha256"]) for page in document["pages"]] == [64, 64]
    listed = sohoa.json("dossier", "list")
    assert [row["fileCode"] for row in listed] == [CODE]


def test_stdin_json_and_field_level_errors(sohoa):
    bad = sohoa("dossier", "create", "--json", "-",
                stdin='{"fileCode": "H49.64.33.2001.1", "title": "x", "maintenance": "09",'
                      ' "mode": "01", "language": ["01"], "startDate": "2001"}')
    assert bad.exit_code == 65
    assert "maintenance" in bad.stderr and "01 Permanent" in bad.stderr  # English on the command line, names included
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_approval_needs_every_required_field_and_says_what_is_missing(sohoa, write_json, page_png):
    sohoa("dossier", "create", "--json", write_json(VALID_DOSSIER))
    refused = sohoa("dossier", "approve", CODE)
    assert refused.exit_code == 65 and "endDate" in refused.stderr
    assert sohoa.json("dossier", "show", CODE)["state"] == "draft"
    sohoa("import", CODE, page_png)
    assert sohoa("dossier", "set", CODE, "--json", write_json(
        {"endDate": "2002", "format": "01", "paperFileCode": "G09.K1-G2-H3.160"})).exit_code == 0
    refused = sohoa("dossier", "approve", CODE)
    assert refused.exit_code == 65 and f"{CODE}.1: subject" in refused.stderr
    assert sohoa("document", "set", f"{CODE}.1", "--json", write_json(
        {"typeName": "02", "issuedDate": "15/09/2001", "organName": "UBND xã Thử",
         "subject": "Về việc thành lập tổ dân phố", "codeNumber": "12",
         "codeNotation": "QĐ-UBND"})).exit_code == 0
    refused = sohoa("dossier", "approve", CODE)  # the worker has not read the page yet
    assert refused.exit_code == 65 and "page 1): not processed yet" in refused.stderr
    assert sohoa("worker", "--once", "--processes", "1").exit_code == 0
    approved = sohoa("dossier", "approve", CODE)
    assert approved.exit_code == 0, approved.stderr
    assert sohoa.json("dossier", "show", CODE)["state"] == "approved"
    frozen = sohoa("dossier", "set", CODE, "--json", write_json({"title": "khác"}))
    assert frozen.exit_code == 69 and "reopen" in frozen.stderr
    assert sohoa("dossier", "reopen", CODE).exit_code == 0
    shown = sohoa.json("dossier", "show", CODE)
    assert (shown["state"], shown["version"]) == ("draft", 2)


def test_every_move_is_in_the_audit_trail(sohoa, write_json):
    sohoa("dossier", "create", "--json", write_json(VALID_DOSSIER))
    sohoa("dossier", "submit", CODE)
    sohoa("dossier", "return", CODE, "--comment", "thiếu trang")
    assert sohoa("dossier", "accept", CODE).exit_code == 2  # not a command at all
    refused = sohoa("dossier", "withdraw", CODE)
    assert refused.exit_code == 69 and "allowed from: in_review" in refused.stderr
    conn = sqlite3.connect(sohoa.data / "sohoa.db")
    actions = [row[0] for row in conn.execute("SELECT action FROM events WHERE object_type ="
                                              " 'dossier' ORDER BY id")]
    comment = conn.execute("SELECT details FROM events WHERE action = 'dossier.return'").fetchone()
    assert actions == ["dossier.create", "dossier.submit", "dossier.return"]
    assert "thiếu trang" in comment[0]


def test_secret_dossiers_are_marked_never_to_leave_over_a_network(sohoa, write_json):
    sohoa("dossier", "create", "--json", write_json({**VALID_DOSSIER, "mode": "03"}))
    assert sohoa.json("dossier", "show", CODE)["networkAllowed"] is False
    sohoa("dossier", "set", CODE, "--json", write_json({"mode": "01"}))
    assert sohoa.json("dossier", "show", CODE)["networkAllowed"] is True


def test_a_suggestion_never_overwrites_what_a_person_typed(box, dossier_code):
    from device.catalog.dossiers import load, set_dossier_fields

    skipped = set_dossier_fields(box, dossier_code, {"title": "Gợi ý từ OCR", "keyword": "xã"},
                                 actor="ocr", source="suggested")
    assert skipped == ["title"]
    fields = load(box, dossier_code)["fields"]
    assert fields["title"] == {"value": VALID_DOSSIER["title"], "source": "entered"}
    assert fields["keyword"] == {"value": "xã", "source": "suggested"}
    set_dossier_fields(box, dossier_code, {"keyword": "xã"}, actor="alice")
    assert load(box, dossier_code)["fields"]["keyword"]["source"] == "confirmed"


def test_duplicate_file_codes_are_refused(sohoa, write_json):
    sohoa("dossier", "create", "--json", write_json(VALID_DOSSIER))
    again = sohoa("dossier", "create", "--json", write_json(VALID_DOSSIER))
    assert again.exit_code == 65 and "already exists" in again.stderr


def test_unknown_dossier_is_a_clear_not_found(sohoa):
    result = sohoa("dossier", "show", "H49.64.33.1999.1")
    assert result.exit_code == 66 and "no dossier" in result.stderr


def test_a_secret_document_keeps_its_whole_dossier_off_the_network(sohoa, write_json, page_png):
    sohoa("dossier", "create", "--json", write_json(VALID_DOSSIER))
    sohoa("import", CODE, page_png)
    assert sohoa("document", "set", f"{CODE}.1", "--json", write_json({"mode": "03"})).exit_code == 0
    assert sohoa.json("dossier", "show", CODE)["networkAllowed"] is False
    sohoa("dossier", "set", CODE, "--json", write_json({"title": "Hồ sơ khác"}))
    assert sohoa.json("dossier", "show", CODE)["networkAllowed"] is False
    sohoa("document", "set", f"{CODE}.1", "--json", write_json({"mode": None}))
    assert sohoa.json("dossier", "show", CODE)["networkAllowed"] is True


def test_documents_of_a_long_file_code_stay_editable_and_approval_reports_the_docid(
        sohoa, write_json, page_png):
    long_code = "H49.64.33.2001.1234567890"
    sohoa("dossier", "create", "--json", write_json({**VALID_DOSSIER, "fileCode": long_code}))
    sohoa("import", long_code, page_png)
    assert sohoa("document", "set", f"{long_code}.1", "--json",
                 write_json({"subject": "Về việc"})).exit_code == 0
    refused = sohoa("dossier", "approve", long_code)
    assert refused.exit_code == 65 and "docId" in refused.stderr and "at most 25" in refused.stderr
