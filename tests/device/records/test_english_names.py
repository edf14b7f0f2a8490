"""The records' English for the UI: code names, state names, field problems and the English of
errors a person may be shown; an impossible date is called that, not a wrong format."""

from __future__ import annotations

import pytest

from device.errors import ConfigError, StateError, ValidationError
from device.records import codes
from device.records.lifecycle import DossierState, next_state, state_label
from device.records.schema import code_lists, dossier_fields
from device.records.validation import parse_input


@pytest.mark.parametrize("name", sorted(code_lists()))
def test_every_code_has_an_english_name_beside_its_vietnamese_one(name):
    found = code_lists()[name]
    assert list(found.values_en) == list(found.values)
    assert all(found.values_en.values())
    assert codes.names(name, "en") == found.values_en and codes.names(name) == found.values


def test_every_state_has_a_name_in_each_language():
    english = [state_label(state, "en") for state in DossierState]
    vietnamese = [state_label(state, "vi") for state in DossierState]
    assert len(set(english)) == len(set(vietnamese)) == len(DossierState)
    assert state_label("in_review", "en") == "in review"
    assert state_label(DossierState.IN_REVIEW) == "đang kiểm duyệt"


@pytest.mark.parametrize("text", ["31/02/2025", "29/02/2023", "13/2001", "00/05/2001", "00/2001"])
def test_an_impossible_date_is_not_real_in_both_languages(text):
    with pytest.raises(ValidationError) as caught:
        parse_input(dossier_fields(), {"startDate": text})
    problem = caught.value.problems[0]
    assert problem.problem_en == f"'{text}' is not a real date: check the day and the month"
    assert problem.problem_vi == f"ngày “{text}” không tồn tại: hãy kiểm tra lại ngày và tháng"


@pytest.mark.parametrize("text", ["2025-02-28", "1/2/2025", "ngày 5"])
def test_a_date_in_another_form_is_still_told_which_forms_are_allowed(text):
    with pytest.raises(ValidationError) as caught:
        parse_input(dossier_fields(), {"startDate": text})
    problem = caught.value.problems[0]
    assert "write DD/MM/YYYY, MM/YYYY or YYYY" in problem.problem_en
    assert problem.problem_vi == "ngày không hợp lệ: viết DD/MM/YYYY, MM/YYYY hoặc YYYY"


def test_a_wrong_code_lists_the_choices_in_each_language():
    with pytest.raises(ValidationError) as caught:
        parse_input(dossier_fields(), {"maintenance": "99"})
    problem = caught.value.problems[0]
    assert "01 Permanent" in problem.problem_en and "Vĩnh viễn" not in problem.problem_en
    assert "01 Vĩnh viễn" in problem.problem_vi


def test_a_validation_error_has_english_for_people_without_element_names():
    with pytest.raises(ValidationError) as caught:
        parse_input(dossier_fields(), {"startDate": "31/02/2025"})
    assert caught.value.english_for_people() == (
        "Start date: '31/02/2025' is not a real date: check the day and the month")
    assert "startDate" in str(caught.value)  # the log keeps the element name


def test_only_english_written_for_people_is_offered_to_them():
    with pytest.raises(StateError) as caught:
        next_state("draft", "approve")
    assert caught.value.english_for_people() == str(caught.value)
    with_path = StateError("page 5: cannot be read ([Errno 2] No such file: '/var/lib/x/blob')")
    assert with_path.english_for_people() is None
    assert ConfigError("web secret missing").english_for_people() is None
    assert StateError("x", message_en="Nicer words").english_for_people() == "Nicer words"
