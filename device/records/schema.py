"""Loads the TT05 data file: code lists and the field specifications of dossiers and documents."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

Level = Literal["draft", "complete", "optional", "computed"]
FieldType = Literal["text", "code", "codes", "date", "bool", "int", "fileCode", "paperFileCode",
                    "identifier"]


@dataclass(frozen=True)
class CodeList:
    """One TT05 code list: codes ("01") and their Vietnamese names (English ones for the UI)."""

    name: str
    label_vi: str
    label_en: str
    values: dict[str, str]
    values_en: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FieldSpec:
    """One TT05 metadata element: its names, type, limit and when it is required."""

    name: str
    label_vi: str
    label_en: str
    type: FieldType
    required: Level
    max: int | None = None
    required_if: str | None = None
    default: Any = None
    inherit: bool = False

    @property
    def code_list(self) -> str | None:
        return self.name if self.type in ("code", "codes") else None


@cache
def _data() -> dict[str, Any]:
    text = resources.files("device.records").joinpath("tt05.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def code_lists() -> dict[str, CodeList]:
    """Every code list by its field name (maintenance, mode, language, …)."""
    return {
        name: CodeList(name, spec["label_vi"], spec["label_en"], dict(spec["values"]),
                       dict(spec.get("values_en", {})))
        for name, spec in _data()["code_lists"].items()
    }


@cache
def dossier_fields() -> dict[str, FieldSpec]:
    """The 18 dossier elements, in TT05 order."""
    return {spec["name"]: FieldSpec(**spec) for spec in _data()["dossier"]}


@cache
def document_fields() -> dict[str, FieldSpec]:
    """The 21 document elements, in TT05 order."""
    return {spec["name"]: FieldSpec(**spec) for spec in _data()["document"]}
