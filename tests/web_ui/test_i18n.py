"""The UI texts: every key in Vietnamese and English, every key the UI uses exists."""

from __future__ import annotations

import re

from tests.conftest import REPO_ROOT
from web_ui.i18n import MESSAGES, translate

USED = re.compile(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""")


def test_both_languages_have_the_same_keys():
    assert set(MESSAGES["vi"]) == set(MESSAGES["en"])


def test_every_key_the_ui_uses_has_a_text():
    sources = [*(REPO_ROOT / "web_ui").rglob("*.py"), *(REPO_ROOT / "web_ui").rglob("*.html")]
    used = {key for path in sources for key in USED.findall(path.read_text(encoding="utf-8"))}
    assert len(used) > 40
    assert sorted(used - set(MESSAGES["vi"])) == []


def test_every_qc_reason_has_an_operator_text():
    from device.imaging.quality import REASON_TEXT

    reasons = {f"qc.{key}" for key in ("blur", "glare", "cutoff", "skew", "blank", "duplicate",
                                       "hand", "no_page")} | set(REASON_TEXT)
    assert reasons <= set(MESSAGES["vi"])


def test_vietnamese_is_the_default_and_fields_are_filled():
    assert translate("login.locked", minutes=15) == \
        "Đăng nhập sai quá nhiều lần. Hãy thử lại sau 15 phút."
    assert translate("login.wrong", "en") == "Wrong user name or password."
    assert translate("no.such.key") == "no.such.key"
