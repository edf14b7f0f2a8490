"""Which language a request is shown in (Flask-Babel's locale), the switch, local times, and
the template helpers that show core data (labels, code names, problems, states) in it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Flask, g, redirect, request, session
from flask_babel import Babel, format_datetime, get_locale

from web_ui.i18n import DEFAULT_LANGUAGE, LANGUAGES
from web_ui.auth import safe_next
from web_ui.web import in_language, label, problem_text, state_label

bp = Blueprint("language", __name__)

# Commune offices all keep Vietnam's time; the box's clock runs in UTC.
TIMEZONE = "Asia/Ho_Chi_Minh"


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", TIMEZONE)
    Babel(app, locale_selector=_chosen_language)
    app.before_request(_set_language)
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["human_size"] = human_size
    # `{{ dossier.state | state_label }}`: a filter, so a view's `state_label` variable can't hide it.
    app.jinja_env.filters["state_label"] = state_label
    app.jinja_env.globals.update(in_language=in_language, label_of=label, problem_of=problem_text)
    app.context_processor(lambda: {"language": g.get("language", DEFAULT_LANGUAGE),
                                   "languages": LANGUAGES})


def _chosen_language() -> str:
    """The language this session chose, Vietnamese until it chooses another."""
    chosen = session.get("language")
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def _set_language() -> None:
    g.language = str(get_locale() or DEFAULT_LANGUAGE)


# Day first with a four-digit year, as Vietnamese offices write it (CLDR's short Vietnamese
# form has a two-digit year); English spells the month so the order cannot be misread.
TIME_PATTERNS = {"vi": "dd/MM/yyyy HH:mm", "en": "d MMM yyyy, HH:mm"}


def human_size(size: int | None) -> str:
    """Bytes in the largest unit that keeps a number ≥ 1, with the session language's decimal
    mark (a comma in Vietnamese, a point in English)."""
    value = float(size or 0)
    mark = "." if g.get("language") == "en" else ","
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            text = f"{value:.0f}" if unit == "B" else f"{value:.1f}".replace(".", mark)
            return f"{text} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def local_time(value: str | dt.datetime | None) -> str:
    """An ISO timestamp (UTC when it names no zone) in Vietnam's time, in the session's
    language's format; "" for nothing, the text itself when it is not a timestamp."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return format_datetime(value, TIME_PATTERNS.get(g.get("language"), TIME_PATTERNS["vi"]))


@bp.post("/language")
def choose() -> Any:
    """Switch this session's language (a form on every page, the login page too, so this
    endpoint is public: auth.PUBLIC_ENDPOINTS); back to where the user was."""
    chosen = request.form.get("language", "")
    if chosen in LANGUAGES:
        session["language"] = chosen
    # Only a path on this site: never an absolute address an attacker could slip in.
    return redirect(safe_next(request.form.get("next")), 303)
