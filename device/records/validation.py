"""Validation of dossier and document fields at two levels: a draft, and complete (to approve)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from device.errors import FieldProblem, ValidationError
from device.records import dates, identifiers
from device.records.schema import FieldSpec, document_fields, dossier_fields
from device.records.values import normalise, problem

Level = Literal["draft", "complete"]


@dataclass(frozen=True)
class DossierContext:
    """What a dossier's identifiers are checked against: its own agency and archive."""

    agency_id: str | None
    archive_code: str | None


def parse_input(specs: dict[str, FieldSpec], data: Any) -> dict[str, Any]:
    """Normalise a JSON object keyed by TT05 element names; raises ValidationError."""
    if not isinstance(data, dict):
        raise ValidationError([FieldProblem("(input)", "(dữ liệu)", "(input)",
                                            "must be a JSON object keyed by TT05 element names",
                                            "phải là một đối tượng JSON theo tên trường TT05")])
    problems, values = [], {}
    for name, raw in data.items():
        spec = specs.get(name)
        if spec is None:
            problems.append(FieldProblem(name, name, name,
                                         f"unknown field; allowed: {', '.join(specs)}",
                                         "trường không tồn tại"))
        elif spec.required == "computed":
            problems.append(problem(spec, "is computed by the box and cannot be set",
                                    "do hệ thống tự tính, không nhập được"))
        else:
            try:
                values[name] = normalise(spec, raw)
            except ValueError as exc:
                english, vietnamese = (exc.args + (exc.args[0],))[:2]
                problems.append(problem(spec, english, vietnamese))
    if problems:
        raise ValidationError(problems)
    return values


def check_fields(specs: dict[str, FieldSpec], values: dict[str, Any], level: Level) -> list[FieldProblem]:
    """Presence and length problems of a full set of values at the given level."""
    problems = []
    for spec in specs.values():
        value = values.get(spec.name)
        if value is None:
            if _needed(spec, values, level):
                problems.append(problem(spec, "is required" + (" to approve" if level == "complete" else ""),
                                        "bắt buộc phải nhập" + (" để duyệt" if level == "complete" else "")))
            continue
        if spec.required == "computed" and level == "draft":
            continue  # an identifier made too long by the rules is reported at approval
        length = len(",".join(value)) if isinstance(value, list) else len(value) if isinstance(value, str) else 0
        if spec.max is not None and length > spec.max:
            problems.append(problem(spec, f"is {length} characters long; at most {spec.max} allowed",
                                    f"dài {length} ký tự; tối đa {spec.max}"))
    return problems


def _needed(spec: FieldSpec, values: dict[str, Any], level: Level) -> bool:
    if spec.required == "draft":
        return True
    if level != "complete":
        return False
    return spec.required in ("complete", "computed") or bool(
        spec.required_if and values.get(spec.required_if))


def check_dossier(values: dict[str, Any], level: Level, context: DossierContext) -> list[FieldProblem]:
    """Every problem of a dossier's values (computed counts included for `complete`)."""
    specs = dossier_fields()
    problems = check_fields(specs, values, level)
    if values.get("fileCode"):
        found = identifiers.check_file_code(values["fileCode"], context.agency_id)
        if found:
            problems.append(problem(specs["fileCode"], *found))
    if values.get("paperFileCode"):
        found = identifiers.check_paper_file_code(values["paperFileCode"], context.archive_code)
        if found:
            problems.append(problem(specs["paperFileCode"], *found))
    problems += _date_order(specs, values)
    if level == "complete":
        for name in ("totalDoc", "numberOfPage"):
            if values.get(name) == 0:
                problems.append(problem(specs[name], "is 0: a dossier to approve needs pages",
                                        "bằng 0: hồ sơ cần có trang để duyệt"))
    return problems


def _date_order(specs: dict[str, FieldSpec], values: dict[str, Any]) -> list[FieldProblem]:
    start, end = values.get("startDate"), values.get("endDate")
    if start and end and not dates.in_order(dates.parse(start), dates.parse(end)):
        return [problem(specs["endDate"], f"{end} is before the start date {start}",
                        f"{end} sớm hơn thời gian bắt đầu {start}")]
    return []


def check_document(values: dict[str, Any], level: Level) -> list[FieldProblem]:
    """Every problem of a document's values (docId, docCode and page count included)."""
    specs = document_fields()
    problems = check_fields(specs, values, level)
    if level == "complete" and values.get("numberOfPage") == 0:
        problems.append(problem(specs["numberOfPage"], "is 0: a document needs pages",
                                "bằng 0: tài liệu cần có trang"))
    return problems


def require(problems: list[FieldProblem], subject: str) -> None:
    """Raise ValidationError when there is any problem."""
    if problems:
        raise ValidationError(problems, subject=subject)
