"""TT05 field rules: code lists, lengths in NFC characters, required fields, dates, identifiers."""

from __future__ import annotations

import unicodedata

import pytest

from device.errors import ValidationError
from device.records import dates, identifiers
from device.records.schema import code_lists, document_fields, dossier_fields
from device.records.validation import DossierContext, check_document, check_dossier, parse_input

CONTEXT = DossierContext("H49.64.33", "G09")
BASE = {"fileCode": "H49.64.33.2001.160", "title": "Hồ sơ", "maintenance": "01", "mode": "01",
        "language": ["01"], "startDate": "2001", "confidenceLevel": "02", "riskRecovery": False}
COMPLETE = {**BASE, "endDate": "2002", "format": "01", "paperFileCode": "G09.K1-G2-H3.160",
            "totalDoc": 1, "numberOfPage": 2, "numberOfPaper": 1}


def fields_of(problems):
    return {problem.field for problem in problems}


def test_there_are_18_dossier_and_21_document_elements():
    assert len(dossier_fields()) == 18
    assert len(document_fields()) == 21


CODE_FIELDS = [(specs, name) for specs in (dossier_fields(), document_fields())
               for name, spec in specs.items() if spec.type in ("code", "codes")]


@pytest.mark.parametrize(("specs", "name"), CODE_FIELDS,
                         ids=[f"{len(s)}-{n}" for s, n in CODE_FIELDS])
def test_every_code_of_every_list_is_accepted_and_others_refused(specs, name):
    spec = specs[name]
    for code in code_lists()[name].values:
        value = parse_input(specs, {name: [code] if spec.type == "codes" else code})[name]
        assert value == ([code] if spec.type == "codes" else code)
    for wrong in ("99", "00", "abc", 1.5):
        with pytest.raises(ValidationError) as caught:
            parse_input(specs, {name: wrong})
        assert caught.value.problems[0].field == name
        assert "allowed" in caught.value.problems[0].problem_en


def test_code_lists_have_the_sizes_tt05_gives():
    sizes = {name: len(lst.values) for name, lst in code_lists().items()}
    assert sizes == {"maintenance": 7, "mode": 3, "language": 11, "format": 3,
                     "confidenceLevel": 3, "riskRecoveryStatus": 2, "typeName": 32}


TEXT_FIELDS = [(kind, specs, name) for kind, specs in (("dossier", dossier_fields()),
                                                       ("document", document_fields()))
               for name, spec in specs.items() if spec.type == "text"]


@pytest.mark.parametrize(("kind", "specs", "name"), TEXT_FIELDS,
                         ids=[f"{k}-{n}" for k, _, n in TEXT_FIELDS])
def test_text_limits_count_nfc_characters(kind, specs, name):
    limit = specs[name].max
    check = check_dossier if kind == "dossier" else check_document
    args = (CONTEXT,) if kind == "dossier" else ()
    base = BASE if kind == "dossier" else {"maintenance": "01", "language": ["01"], "mode": "01"}
    # "ệ" decomposed is three code points; the limit counts it once, as NFC does.
    exact = unicodedata.normalize("NFD", "ệ" * limit)
    at_limit = {**base, name: parse_input(specs, {name: exact})[name]}
    assert name not in fields_of(check(at_limit, "draft", *args))
    over = {**base, name: "ệ" * (limit + 1)}
    problems = [p for p in check(over, "draft", *args) if p.field == name]
    assert problems and f"at most {limit}" in problems[0].problem_en
    assert problems[0].label_vi == specs[name].label_vi


def test_a_draft_may_lack_what_is_not_known_yet_but_approval_may_not():
    assert check_dossier(BASE, "draft", CONTEXT) == []
    missing = fields_of(check_dossier(BASE, "complete", CONTEXT))
    assert {"endDate", "format", "paperFileCode", "totalDoc", "numberOfPage",
            "numberOfPaper"} <= missing
    assert check_dossier(COMPLETE, "complete", CONTEXT) == []


@pytest.mark.parametrize("name", ["fileCode", "title", "maintenance", "mode", "language",
                                  "startDate"])
def test_a_draft_needs_its_identity_and_basics(name):
    values = {k: v for k, v in BASE.items() if k != name}
    assert name in fields_of(check_dossier(values, "draft", CONTEXT))


def test_backup_status_is_required_only_when_a_backup_is_kept():
    assert "riskRecoveryStatus" not in fields_of(check_dossier(COMPLETE, "complete", CONTEXT))
    kept = {**COMPLETE, "riskRecovery": True}
    assert "riskRecoveryStatus" in fields_of(check_dossier(kept, "complete", CONTEXT))
    assert check_dossier({**kept, "riskRecoveryStatus": "01"}, "complete", CONTEXT) == []


def test_document_draft_and_complete_rules():
    draft = {"maintenance": "01", "language": ["01"], "mode": "01", "numberOfPage": 1,
             "docId": "H49.64.33.2001.160.1", "docCode": "H49.64.33.2001.160.0000001"}
    assert check_document(draft, "draft") == []
    assert fields_of(check_document(draft, "complete")) == {"typeName", "issuedDate",
                                                            "organName", "subject"}


@pytest.mark.parametrize(("text", "first", "last"), [
    ("15/09/2001", "2001-09-15", "2001-09-15"),
    ("02/2024", "2024-02-01", "2024-02-29"),
    ("1998", "1998-01-01", "1998-12-31"),
])
def test_tt05_date_forms(text, first, last):
    parsed = dates.parse(text)
    assert (parsed.first.isoformat(), parsed.last.isoformat()) == (first, last)


@pytest.mark.parametrize("text", ["2001-09-15", "31/02/2001", "15/9/2001", "13/2001", "0999",
                                  "ngày 15", ""])
def test_wrong_dates_are_refused(text):
    with pytest.raises(ValidationError) as caught:
        parse_input(dossier_fields(), {"startDate": text or 5})
    assert "DD/MM/YYYY" in caught.value.problems[0].problem_en or "date" in str(caught.value)


def test_end_before_start_is_refused_but_overlapping_precision_is_fine():
    assert "endDate" in fields_of(check_dossier({**BASE, "startDate": "05/2001",
                                                 "endDate": "04/2001"}, "draft", CONTEXT))
    assert check_dossier({**BASE, "startDate": "15/05/2001", "endDate": "05/2001"},
                         "draft", CONTEXT) == []


@pytest.mark.parametrize("agency", ["000.00.00.H49", "H49.64.33", "H49.64"])
def test_both_agency_id_forms_are_accepted(agency):
    assert identifiers.check_agency_id(agency) is None
    assert identifiers.check_file_code(f"{agency}.2001.160", agency) is None


@pytest.mark.parametrize("agency", ["h49.64.33", "H49", "000.00.00.H49.1", "H49 64 33", ""])
def test_malformed_agency_ids_are_refused(agency):
    assert identifiers.check_agency_id(agency) is not None


def test_file_code_must_carry_the_dossiers_agency_and_a_year():
    assert identifiers.check_file_code("H49.64.33.2001.160", "000.00.00.H49") is not None
    assert identifiers.check_file_code("H49.64.33.01.160", None) is not None
    assert identifiers.check_file_code("H49.64.33.2001.16/0", None) is not None


def test_document_identifiers():
    assert identifiers.doc_id("H49.64.33.2001.160", 1) == "H49.64.33.2001.160.1"
    assert identifiers.doc_code("H49.64.33.2001.160", 1) == "H49.64.33.2001.160.0000001"
    assert identifiers.split_doc_id("H49.64.33.2001.160.12") == ("H49.64.33.2001.160", 12)
    assert identifiers.arc_file_code("G09", "H49.64.33.2001.160") == "G09.H49.64.33.2001.160"


def test_an_identifier_over_its_limit_is_reported_not_truncated():
    long_code = "000.00.00.H49.2001.1234567890123"
    values = {"maintenance": "01", "language": ["01"], "mode": "01", "numberOfPage": 1,
              "docId": identifiers.doc_id(long_code, 1), "docCode": identifiers.doc_code(long_code, 1)}
    assert check_document(values, "draft") == []  # drafts stay editable
    problems = [p for p in check_document(values, "complete") if p.field == "docId"]
    assert problems and "at most 25" in problems[0].problem_en
    assert values["docId"].endswith("1234567890123.1")


def test_paper_file_code_starts_with_the_archive():
    assert identifiers.check_paper_file_code("G09.K1-G2-H3.160", "G09") is None
    assert identifiers.check_paper_file_code("X01.K1.160", "G09") is not None
    assert identifiers.check_paper_file_code("G09.160", "G09") is not None


def test_unknown_and_computed_fields_are_refused_with_their_names():
    with pytest.raises(ValidationError) as caught:
        parse_input(dossier_fields(), {"titel": "x", "numberOfPage": 3})
    assert fields_of(caught.value.problems) == {"titel", "numberOfPage"}
    assert "Số lượng trang" in caught.value.message_vi


def test_booleans_accept_tt05_one_and_zero():
    specs = dossier_fields()
    assert parse_input(specs, {"riskRecovery": "1"})["riskRecovery"] is True
    assert parse_input(specs, {"riskRecovery": 0})["riskRecovery"] is False
    with pytest.raises(ValidationError):
        parse_input(specs, {"riskRecovery": "maybe"})


@pytest.mark.parametrize("value", ["H49.64.33.２０２５.5", "H49.64.33.2025.5\n"])
def test_identifiers_take_ascii_digits_and_nothing_after(value):
    assert identifiers.check_file_code(value, None) is not None


@pytest.mark.parametrize("text", ["٠١/٠١/٢٠٢٠", "2020\nx", "١٩٩٨"])
def test_dates_take_ascii_digits_and_nothing_after(text):
    with pytest.raises(ValueError):
        dates.parse(text)
