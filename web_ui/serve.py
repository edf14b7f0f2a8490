"""Running the web UI: waitress for plain HTTP (the office LAN default), cheroot for HTTPS."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from cheroot import wsgi as cheroot_wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from device import wsgi
from device.errors import ConfigError

log = logging.getLogger(__name__)


def make_server(app: Any, bind: str, threads: int,
                tls: tuple[Path, Path] | None = None) -> Any:
    """A bound server for the web UI (port 0: any free port) with `run()`, `close()`,
    `effective_host`, `effective_port` and `scheme`; HTTPS with `tls` = (certificate, key)."""
    if tls is None:
        server = wsgi.make_server(app, bind, threads=threads, ident="sohoa-web")
        server.scheme = "http"
        return server
    return TlsServer(app, bind, threads, *tls)


class TlsServer:
    """cheroot serving the app over TLS (waitress has no TLS), with waitress's few names."""

    scheme = "https"

    def __init__(self, app: Any, bind: str, threads: int, cert: Path, key: Path) -> None:
        host, port = wsgi.split_bind(bind)
        self._server = cheroot_wsgi.Server((host, port), app, numthreads=threads,
                                           server_name="sohoa-web")
        try:
            self._server.ssl_adapter = BuiltinSSLAdapter(str(cert), str(key))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"web.tls: cannot use {cert} / {key}: {exc}") from None
        try:
            self._server.prepare()  # binds now, so port 0 is known before run()
        except OSError as exc:
            raise ConfigError(f"cannot listen on {bind}: {exc.strerror or exc}") from None
        self.effective_host, self.effective_port = self._server.bind_addr[:2]

    def run(self) -> None:
        self._server.serve()

    def close(self) -> None:
        self._server.stop()
