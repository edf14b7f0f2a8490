"""The hub's Flask app factory: the Hub, its blueprints, one catalog connection per request."""

from __future__ import annotations

import datetime as dt
import logging

from flask import Flask, Response, request

from device.config import Config
from device.errors import SohoaError
from hub import api, dashboard, tus
from hub.context import Hub
from hub.web import close_db, json_error

log = logging.getLogger(__name__)


def create_app(config: Config, *, hub: Hub | None = None) -> Flask:
    """The hub's WSGI app; opens (and on first start creates) the hub's folders and key."""
    hub = hub or Hub.open(config)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=hub.session_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="sohoa_hub_session",
        SESSION_COOKIE_SECURE=hub.settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=hub.settings.session_hours),
    )
    app.extensions["sohoa_hub"] = hub
    for blueprint in (api.bp, tus.bp, dashboard.bp):
        app.register_blueprint(blueprint)
    app.teardown_appcontext(close_db)

    @app.errorhandler(SohoaError)
    def _sohoa_error(exc: SohoaError) -> Response:
        log.warning("%s %s: %s", request.method, request.path, exc)
        return json_error(exc.http_status, type(exc).__name__, exc.message, exc.message_vi)

    log.info("hub %s ready (data in %s)", hub.hub_id, hub.paths.root)
    return app
