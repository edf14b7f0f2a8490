"""Running the web UI under waitress, the production WSGI server."""

from __future__ import annotations

from typing import Any

from device import wsgi


def make_server(app: Any, bind: str, threads: int) -> Any:
    """A waitress server for the web UI bound to `bind` (port 0: any free port)."""
    return wsgi.make_server(app, bind, threads=threads, ident="sohoa-web")
