"""Look-ups in the TT05 code lists."""

from __future__ import annotations

from device.records.schema import code_lists


def is_valid(list_name: str, code: object) -> bool:
    """Whether `code` is one of the list's codes ("01", "02", …)."""
    return isinstance(code, str) and code in code_lists()[list_name].values


def allowed(list_name: str, language: str = "vi") -> str:
    """The list's codes with their names in `language`, for messages: `01 Vĩnh viễn, 02 70 năm, …`."""
    return ", ".join(f"{code} {name}" for code, name in names(list_name, language).items())


def names(list_name: str, language: str = "vi") -> dict[str, str]:
    """The list's codes and their names in `language` ("en"; anything else is Vietnamese)."""
    found = code_lists()[list_name]
    return found.values_en if language == "en" and found.values_en else found.values


def require(list_name: str, code: object) -> str:
    """Return `code` if valid, else raise ValueError naming what is allowed."""
    if not is_valid(list_name, code):
        raise ValueError(f"{code!r} is not a {list_name} code; allowed: {allowed(list_name)}")
    return str(code)


def name_of(list_name: str, code: str) -> str:
    """The Vietnamese name of a code."""
    return code_lists()[list_name].values[code]
