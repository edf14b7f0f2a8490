"""Running the hub: the waitress WSGI server, and the thread that deletes expired uploads."""

from __future__ import annotations

import logging
import threading
from typing import Any

import waitress

from device.errors import ConfigError, SohoaError
from hub.context import MIB, Hub
from hub.uploads import expire_uploads

log = logging.getLogger(__name__)


def split_bind(bind: str) -> tuple[str, int]:
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65_535:
        raise ConfigError(f"bind {bind!r}: expected HOST:PORT, e.g. 0.0.0.0:8470")
    return host.strip("[]"), int(port)


def make_server(app: Any, hub: Hub, bind: str) -> Any:
    """A waitress server bound to `bind` (port 0: any free port; see `effective_port`)."""
    host, port = split_bind(bind)
    try:
        return waitress.create_server(
            app, host=host, port=port, threads=hub.settings.threads, ident="sohoa-hub",
            # waitress buffers each body before calling the app: one PATCH chunk at most.
            max_request_body_size=hub.max_chunk_bytes + MIB,
            clear_untrusted_proxy_headers=True)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {bind}: {exc.strerror}") from None


def stop_server(server: Any) -> None:
    """Stop a server whose `run()` loop is in another thread: requests in hand finish, then the
    loop itself closes every socket (closing them from here races its poll) and returns."""
    server.task_dispatcher.shutdown(cancel_pending=False, timeout=30)

    def close_all() -> None:
        for channel in list(server._map.values()):
            channel.close()

    server.trigger.pull_trigger(close_all)


class ExpiryThread(threading.Thread):
    """Deletes expired uploads every `hub.cleanup_minutes`; a failure is logged, never fatal."""

    def __init__(self, hub: Hub) -> None:
        super().__init__(name="hub-upload-expiry", daemon=True)
        self.hub = hub
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            self.sweep()
            self.stopping.wait(self.hub.settings.cleanup_minutes * 60)

    def sweep(self) -> int:
        catalog = self.hub.catalog()
        try:
            return expire_uploads(self.hub, catalog)
        except (SohoaError, OSError) as exc:
            log.error("deleting expired uploads failed: %s", exc)
            return 0
        finally:
            catalog.close()
