"""The package's descriptive files, `EAD.xml` and `EAD_doc_{n}.xml`: TT05 fields in a flat <simpledc>.

TT05 names them EAD but they hold no EAD: a root `<simpledc>` (no namespace) with one child per
TT05 element, in the data file's order, named by its TT05 element name. Every element is
written, empty when it has no value, so the shape of the file never depends on the data.
Values: booleans 1/0, lists of codes joined with ",", everything else as text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lxml import etree

from device.archive.mets import safe_parser

LIST_SEPARATOR = ","


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return LIST_SEPARATOR.join(str(item) for item in value)
    return str(value)


def simpledc_xml(values: dict[str, Any], names: Iterable[str]) -> bytes:
    """A <simpledc> with the elements `names` in order, from `values`."""
    root = etree.Element("simpledc")
    for name in names:
        etree.SubElement(root, name).text = _text(values.get(name))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def read_simpledc(data: bytes) -> dict[str, str]:
    """The element texts of a <simpledc> file (empty elements as "")."""
    root = etree.fromstring(data, safe_parser())
    if root.tag != "simpledc":
        raise ValueError(f"root is <{root.tag}>, not <simpledc>")
    return {child.tag: child.text or "" for child in root if isinstance(child.tag, str)}


def as_text(value: Any) -> str:
    """How a field value is written in a <simpledc> (for comparing with a read-back file)."""
    return _text(value)
