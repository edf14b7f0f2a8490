"""TT05 dossier and document fields as HTML forms: the inputs to draw, and the form read back.

The rules stay in device.records: this module only turns the spec into inputs and the posted
strings into the data device.catalog validates (its ValidationError names each field). Labels,
code names and problems are shown in the session's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from device.errors import FieldProblem
from device.records.schema import FieldSpec, document_fields, dossier_fields
from device.records.values import normalise
from web_ui.web import code_names, in_language, label, problem_text, problems_text

# Which agency and fonds a new dossier belongs to (defaults from the box's configuration):
# (name, Vietnamese label, English label), named as device.catalog's problems name them.
FONDS_FIELDS = (("agencyId", "Mã định danh cơ quan", "Agency id"),
                ("archiveCode", "Mã cơ quan lưu trữ", "Archive code"),
                ("fondsCode", "Mã phông", "Fonds code"), ("fondsName", "Tên phông", "Fonds name"))


@dataclass
class FormField:
    """One input of the form as the template draws it."""

    name: str
    label: str
    kind: str  # text, textarea, date, select, multiselect, bool
    required: bool
    value: Any = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""
    placeholder: str = ""


def _kind(spec: FieldSpec) -> str:
    if spec.type == "code":
        return "select"
    if spec.type == "codes":
        return "multiselect"
    if spec.type == "bool":
        return "bool"
    if spec.type == "date":
        return "date"
    return "textarea" if spec.type == "text" and (spec.max or 0) > 300 else "text"


def _shown(value: Any, kind: str) -> Any:
    if value is None:
        return [] if kind == "multiselect" else ""
    if kind == "bool":  # a stored bool, or the posted text sent back after a refusal
        return "" if value == "" else ("0" if value in (False, 0, "0") else "1")
    if kind == "multiselect":
        return list(value) if isinstance(value, list) else [value]
    return str(value)


def editable_specs(specs: dict[str, FieldSpec] | None = None) -> list[FieldSpec]:
    """The fields a person may type (dossier fields unless `specs` says otherwise)."""
    return [spec for spec in (specs or dossier_fields()).values() if spec.required != "computed"]


def _inputs(specs: dict[str, FieldSpec], values: dict[str, Any], errors: dict[str, str]) -> list[FormField]:
    """One input per editable field; the errors they show are taken out of `errors`. A field
    inherited from the dossier is never required: left empty, it takes the dossier's value."""
    fields = []
    for spec in editable_specs(specs):
        kind = _kind(spec)
        options = list(code_names(spec.code_list).items()) if spec.code_list else []
        fields.append(FormField(spec.name, label(spec), kind,
                                spec.required == "draft" and not spec.inherit,
                                _shown(values.get(spec.name), kind), options, errors.pop(spec.name, "")))
    return fields


def document_form(values: dict[str, Any],
                  problems: list[FieldProblem] | None = None) -> tuple[list[FormField], list[str]]:
    """(TT05 document inputs, problems not tied to an input)."""
    errors = {item.field: problem_text(item) for item in problems or []}
    fields = _inputs(document_fields(), values, errors)
    return fields, _others(problems, errors)


def _others(problems: list[FieldProblem] | None, left: dict[str, str]) -> list[str]:
    """"label: problem" of each problem whose field has no input (still in `left`)."""
    return [problems_text([item]) for item in problems or [] if item.field in left]


def dossier_form(values: dict[str, Any], problems: list[FieldProblem] | None = None, *,
                 fonds: dict[str, str] | None = None) -> tuple[list[FormField], list[FormField], list[str]]:
    """(fonds inputs, TT05 inputs, problems not tied to an input); `fonds` None: no fonds inputs
    (an existing dossier's fonds is not changed here)."""
    errors = {item.field: problem_text(item) for item in problems or []}
    fields = _inputs(dossier_fields(), values, errors)
    fonds_inputs = []
    for name, label_vi, label_en in FONDS_FIELDS if fonds is not None else ():
        fonds_inputs.append(FormField(name, in_language(label_vi, label_en), "text", False,
                                      str(values.get(name) or ""), error=errors.pop(name, ""),
                                      placeholder=(fonds or {}).get(name, "")))
    return fonds_inputs, fields, _others(problems, errors)


def read_form(form: MultiDict[str, str], *, with_fonds: bool,
              specs: dict[str, FieldSpec] | None = None) -> dict[str, Any]:
    """The posted values keyed by TT05 element name, as device.catalog takes them (dossier
    fields unless `specs` says otherwise)."""
    data: dict[str, Any] = {}
    for spec in editable_specs(specs):
        if spec.type == "codes":
            data[spec.name] = [code for code in form.getlist(spec.name) if code]
        else:
            data[spec.name] = form.get(spec.name, "")
    if with_fonds:
        for name, _label_vi, _label_en in FONDS_FIELDS:
            data[name] = form.get(name, "").strip() or None
    return data


def changed_only(data: dict[str, Any], current: dict[str, Any],
                 specs: dict[str, FieldSpec] | None = None) -> dict[str, Any]:
    """The posted fields whose value differs from the stored one: saving the form must not turn
    every suggested value into a confirmed one, only those the person actually typed."""
    specs = specs or dossier_fields()
    changed = {}
    for name, raw in data.items():
        try:
            value = normalise(specs[name], raw)
        except ValueError:
            changed[name] = raw  # let device.catalog report it
            continue
        if value != current.get(name):
            changed[name] = raw
    return changed
