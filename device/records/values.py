"""Field values as people give them: normalised (NFC, codes, dates) and tagged with their source.

Each stored value remembers where it came from, so a suggestion from the OCR text never
overwrites what a person typed or confirmed.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Literal

from device.errors import FieldProblem
from device.records import codes, dates
from device.records.schema import FieldSpec

Source = Literal["entered", "suggested", "confirmed"]
SOURCES: tuple[Source, ...] = ("entered", "suggested", "confirmed")

# What a person typed or confirmed outranks what the box suggested.
_RANK = {"suggested": 0, "entered": 1, "confirmed": 1}


def problem(spec: FieldSpec, english: str, vietnamese: str) -> FieldProblem:
    """A complaint about one field, named in both languages."""
    return FieldProblem(spec.name, spec.label_vi, spec.label_en, english, vietnamese)


def normalise(spec: FieldSpec, raw: Any) -> Any:
    """The canonical stored form of a raw input value; raises ValueError(english, vietnamese)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()) or raw == []:
        return None
    if spec.type in ("text", "fileCode", "paperFileCode", "identifier"):
        if not isinstance(raw, str):
            raise ValueError("must be text", "phải là chuỗi ký tự")
        return unicodedata.normalize("NFC", raw.strip())
    if spec.type == "code":
        return _code(spec, raw)
    if spec.type == "codes":
        items = raw if isinstance(raw, list) else [raw]
        return [_code(spec, item) for item in items]
    if spec.type == "date":
        if not isinstance(raw, str):
            raise ValueError("must be a date written DD/MM/YYYY, MM/YYYY or YYYY",
                             "phải là ngày dạng DD/MM/YYYY, MM/YYYY hoặc YYYY")
        return dates.parse(raw).text  # its ValueError says what is wrong in both languages
    if spec.type == "bool":
        return _boolean(raw)
    if spec.type == "int":
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
            raise ValueError("must be a whole number ≥ 0", "phải là số nguyên ≥ 0")
        return raw
    raise AssertionError(f"unknown field type {spec.type}")


def _code(spec: FieldSpec, raw: Any) -> str:
    code = str(raw).strip() if isinstance(raw, (str, int)) and not isinstance(raw, bool) else None
    if code is not None and code.isascii() and code.isdigit() and len(code) == 1:
        code = "0" + code  # "1" and 1 both mean "01"
    if code is None or not codes.is_valid(spec.code_list or spec.name, code):
        name = spec.code_list or spec.name
        raise ValueError(f"{raw!r} is not allowed; choose one of: {codes.allowed(name, 'en')}",
                         f"giá trị “{raw}” không hợp lệ; chọn một trong: {codes.allowed(name)}")
    return code


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if raw in (0, 1, "0", "1"):
        return bool(int(raw))
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false", "có", "không"):
        return raw.strip().lower() in ("true", "có")
    raise ValueError("must be true/false (1 có / 0 không)", "phải là 1 (có) hoặc 0 (không)")


def merge(
    stored: dict[str, dict[str, Any]], updates: dict[str, Any], source: Source
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Apply normalised updates to stored {name: {value, source}}; returns (result, skipped).

    A suggestion never replaces a value a person entered or confirmed (it is skipped). A person
    entering the value that was suggested confirms it. None clears a field.
    """
    result = {name: dict(entry) for name, entry in stored.items()}
    skipped = []
    for name, value in updates.items():
        current = result.get(name)
        if current and _RANK[source] < _RANK[current["source"]]:
            skipped.append(name)
            continue
        if value is None:
            result.pop(name, None)
            continue
        effective = source
        if source == "entered" and current and current["source"] == "suggested" \
                and current["value"] == value:
            effective = "confirmed"
        result[name] = {"value": value, "source": effective}
    return result, skipped


def plain(stored: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Just the values of stored fields."""
    return {name: entry["value"] for name, entry in stored.items()}
