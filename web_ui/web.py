"""What the views share: this request's Box, the acting user, texts and core data in the
session's language, API marks and role checks."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Response, abort, current_app, flash, g, jsonify, request
from flask_login import current_user

from device.box import Box
from device.catalog import corrections
from device.config import Config
from device.errors import FieldProblem, SohoaError, ValidationError
from device.records import codes, lifecycle
from web_ui.i18n import DEFAULT_LANGUAGE, translate

REVIEW_ROLES = corrections.REVIEW_ROLES  # the core's rule of who may review
ADMIN_ROLES = frozenset({"admin"})


def config() -> Config:
    return current_app.extensions["sohoa_config"]


def box() -> Box:
    """This request's Box (one database connection per request, closed at teardown)."""
    if "box" not in g:
        g.box = Box.open(config(), migrate=False)  # create_app checked the schema once
    return g.box


def close_box(_exc: BaseException | None = None) -> None:
    opened = g.pop("box", None)
    if opened is not None:
        opened.close()


def actor() -> str:
    """Who the audit trail names for this request's actions."""
    return f"web:{current_user.username}"


def t(key: str, **fields: Any) -> str:
    """The UI text of `key` in this request's language."""
    return translate(key, language(), **fields)


def language() -> str:
    """This request's language code ("vi" or "en")."""
    return g.get("language", DEFAULT_LANGUAGE)


def in_language(vi: str, en: str | None) -> str:
    """`en` in an English session (when there is one), else `vi`."""
    return en if language() == "en" and en else vi


def label(item: Any) -> str:
    """The label of a field spec, code list or field problem (`label_vi`/`label_en`)."""
    return in_language(item.label_vi, item.label_en)


def problem_text(item: FieldProblem) -> str:
    """What is wrong with one field, in this request's language."""
    return in_language(item.problem_vi, item.problem_en)


def problems_text(problems: list[FieldProblem]) -> str:
    """"label: problem; label: problem" in this request's language (for a flash)."""
    return "; ".join(f"{label(item)}: {problem_text(item)}" for item in problems)


def code_names(list_name: str) -> dict[str, str]:
    """A TT05 code list's codes and their names in this request's language."""
    return codes.names(list_name, language())


def state_label(state: str) -> str:
    """A dossier state's name in this request's language (also the Jinja filter `state_label`)."""
    return lifecycle.state_label(state, language())


def user_message(exc: SohoaError) -> str:
    """What a person is told about an error from the core: its Vietnamese message, or in an
    English session its English when that is written for people (else a generic text: English
    messages meant for the log may name paths or internals)."""
    if language() != "en":
        return exc.message_vi
    return exc.english_for_people() or t("language.error_generic")


def api(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view as an API (JSON, images, streams): without a login it answers 401, not a
    redirect to the login page."""
    view.sohoa_api = True  # type: ignore[attr-defined]
    return view


def is_api(view: Callable[..., Any] | None) -> bool:
    return bool(getattr(view, "sohoa_api", False))


def wants_json(view: Callable[..., Any] | None) -> bool:
    """Whether errors for this request are JSON (API views, JSON requests) rather than pages."""
    return is_api(view) or request.is_json or request.accept_mimetypes.best == "application/json"


def role_required(roles: frozenset[str]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The view runs only for a user with one of `roles`; anyone else gets 403."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapper

    return decorate


def json_error(status: int, error: str, message: str, message_vi: str | None = None) -> Response:
    response = jsonify({"error": error, "message": message, "message_vi": message_vi or message})
    response.status_code = status
    return response


def flash_refusal(exc: SohoaError) -> None:
    """Tell the user why a dossier move was refused: what is missing, or the reason."""
    if isinstance(exc, ValidationError):
        flash(t("dossiers.cannot_approve", problems=problems_text(exc.problems)), "error")
    else:
        flash(user_message(exc), "error")
