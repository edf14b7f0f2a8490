"""The production WSGI server (waitress) that the web UI and the hub both run under."""

from __future__ import annotations

from typing import Any

import waitress

from device.errors import ConfigError


def split_bind(bind: str) -> tuple[str, int]:
    """("host", port) from "HOST:PORT" ("[::1]:80" too); ConfigError otherwise."""
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65_535:
        raise ConfigError(f"bind {bind!r}: expected HOST:PORT, e.g. 0.0.0.0:8080")
    return host.strip("[]"), int(port)


def make_server(app: Any, bind: str, *, threads: int, ident: str, **options: Any) -> Any:
    """A waitress server bound to `bind` (port 0: any free port); ConfigError when it cannot
    listen. Proxy headers from untrusted peers are dropped; `options` are waitress's own."""
    host, port = split_bind(bind)
    try:
        return waitress.create_server(app, host=host, port=port, threads=threads, ident=ident,
                                      clear_untrusted_proxy_headers=True, **options)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {bind}: {exc.strerror}") from None
