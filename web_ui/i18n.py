"""Every text the web UI shows, by key, in Vietnamese (the default) and English.

Each area keeps its texts in its own module under `web_ui/texts/` (a `VI` and an `EN` dict);
they are gathered here, and a key defined twice is an error at import. Templates call
`t("key")`, views `t("key", name=...)` (str.format fields).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from web_ui import texts

DEFAULT_LANGUAGE = "vi"
LANGUAGES = ("vi", "en")


def _gather() -> dict[str, dict[str, str]]:
    gathered: dict[str, dict[str, str]] = {language: {} for language in LANGUAGES}
    for module_info in sorted(pkgutil.iter_modules(texts.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{texts.__name__}.{module_info.name}")
        for language in LANGUAGES:
            area = getattr(module, language.upper())
            twice = set(area) & set(gathered[language])
            if twice:
                raise RuntimeError(f"UI text keys defined twice (again in {module.__name__}): "
                                   f"{sorted(twice)}")
            gathered[language].update(area)
    return gathered


MESSAGES: dict[str, dict[str, str]] = _gather()



def translate(key: str, language: str = DEFAULT_LANGUAGE, **fields: Any) -> str:
    """The text of `key` in `language` (Vietnamese when missing there), fields filled in.
    An unknown key is shown as itself, so a missing text is visible rather than fatal."""
    text = MESSAGES.get(language, {}).get(key) or MESSAGES[DEFAULT_LANGUAGE].get(key, key)
    return text.format(**fields) if fields else text
