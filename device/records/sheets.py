"""Sheets and sides: which sheet of paper each page is on, so page and sheet counts are computed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

Side = Literal["recto", "verso"]


def assign_sheets(sides: Sequence[Side]) -> list[int]:
    """Sheet number (from 1) of each page in order: a recto starts a sheet, a verso joins it.

    A verso with no recto before it (the left page of the first opening of a register) is on
    a sheet of its own.
    """
    sheets, sheet, open_recto = [], 0, False
    for side in sides:
        if side == "recto" or not open_recto:
            sheet += 1
        open_recto = side == "recto"
        sheets.append(sheet)
    return sheets


def spread_sides(count: int) -> list[Side]:
    """Sides of the pages one capture holds: one page is a recto; an open register shows the
    verso of one sheet on the left and the recto of the next on the right."""
    return ["recto"] if count == 1 else ["verso", "recto"] if count == 2 else ["recto"] * count
