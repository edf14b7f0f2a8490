"""The web UI's Flask app factory: settings, CSRF, logins, blueprints, error pages, headers."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import Flask, Response, current_app, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from device.box import Box
from device.config import Config
from device.errors import ConfigError, SohoaError
from device.provision import read_secret
from web_ui import admin, auth, capture, documents, dossiers, language, pages, review, search, sync
from web_ui.web import close_box, json_error, t, user_message, wants_json

log = logging.getLogger(__name__)

SECRET_NAME = "web_secret_key"
# Everything is served by the box itself: no CDN, no inline script (the box is often offline,
# and a script that slipped into OCR text or metadata must not run even if escaping failed).
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                           "script-src 'self'; object-src 'none'; base-uri 'none'; "
                           "frame-ancestors 'none'; form-action 'self'")
_ERROR_KEYS = {403: "error.forbidden", 404: "error.not_found", 405: "error.method"}


def create_app(box_config: Config, *, testing: bool = False) -> Flask:
    """The web UI's WSGI app for the box whose configuration is `box_config`."""
    settings = box_config.settings.web
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_secret_key(box_config),
        TESTING=testing,
        SESSION_COOKIE_NAME="sohoa_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies or settings.tls,
        REMEMBER_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=settings.session_hours),
        # The CSRF token lives as long as the login, not Flask-WTF's default hour.
        WTF_CSRF_TIME_LIMIT=int(settings.session_hours * 3600),
        MAX_CONTENT_LENGTH=1 << 20,
    )
    app.extensions["sohoa_config"] = box_config
    CSRFProtect(app)
    auth.init_app(app)
    language.init_app(app)
    for blueprint in (auth.bp, language.bp, dossiers.bp, capture.bp, search.bp, sync.bp, admin.bp,
                      documents.bp, review.bp, pages.bp):
        app.register_blueprint(blueprint)
    app.teardown_appcontext(close_box)
    app.after_request(_security_headers)
    app.context_processor(lambda: {"t": t, "box_name": box_config.settings.box.name})
    _error_handlers(app)
    Box.open(box_config).close()  # the schema is checked once here, not on every request
    log.info("web UI ready for the box in %s", box_config.paths.data_dir)
    return app


def _secret_key(box_config: Config) -> str:
    try:
        key = read_secret(box_config, SECRET_NAME)
    except OSError:
        key = ""
    if len(key) < 32:
        raise ConfigError(f"no web secret key in {box_config.paths.secrets / SECRET_NAME}: "
                          f"run `sohoa --data {box_config.paths.data_dir} init` first",
                          message_vi="Chưa có khóa bí mật của giao diện web: hãy chạy `sohoa init`.")
    return key


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _wants_json() -> bool:
    return wants_json(current_app.view_functions.get(request.endpoint or ""))


def _error_page(status: int, message: str, error: str) -> Any:
    if _wants_json():
        return json_error(status, error, error, message)
    return render_template("error.html", message=message), status


def _error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        log.warning("%s %s refused: %s", request.method, request.path, exc.description)
        return _error_page(400, t("error.csrf"), "csrf")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        status = exc.code or 500
        return _error_page(status, t(_ERROR_KEYS.get(status, "error.internal")), exc.name)

    @app.errorhandler(SohoaError)
    def _sohoa(exc: SohoaError) -> Any:
        log.warning("%s %s: %s", request.method, request.path, exc)
        return _error_page(exc.http_status, user_message(exc), type(exc).__name__)
