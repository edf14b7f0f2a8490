"""What the hub's views share: the Hub, one catalog connection per request, device tokens, JSON errors."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, g, jsonify, request

from device.db.connection import Database, transaction
from hub import catalog
from hub.context import Hub
from hub.devices import authenticate

_TOUCH_EVERY = dt.timedelta(seconds=60)


def current_hub() -> Hub:
    return current_app.extensions["sohoa_hub"]


def db() -> Database:
    """This request's catalog connection (closed at teardown)."""
    if "catalog" not in g:
        g.catalog = current_hub().catalog()
    return g.catalog


def close_db(_exc: BaseException | None = None) -> None:
    connection = g.pop("catalog", None)
    if connection is not None:
        connection.close()


def json_error(status: int, error: str, message: str, message_vi: str | None = None,
               headers: dict[str, str] | None = None) -> Response:
    body = {"error": error, "message": message}
    if message_vi:
        body["message_vi"] = message_vi
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def bearer_token() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def device_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """The view runs only for an enrolled, unrevoked device (`g.device`); else 401, nothing done."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        refused = require_device()
        return refused if refused is not None else view(*args, **kwargs)

    return wrapper


def require_device() -> Response | None:
    """Authenticate the request's token into `g.device`; a 401 response when it fails."""
    found = authenticate(db(), bearer_token())
    if found is None:
        return json_error(401, "unauthorized", "a valid device token is required",
                          "Thiết bị chưa đăng ký hoặc đã bị thu hồi",
                          {"WWW-Authenticate": 'Bearer realm="sohoa-hub"'})
    g.device = found
    last = found["last_contact"]
    stamp = dt.datetime.now(dt.timezone.utc)
    if last is None or dt.datetime.fromisoformat(last) + _TOUCH_EVERY < stamp:
        with transaction(db()):
            catalog.touch_device(db(), found["id"])
    return None
