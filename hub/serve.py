"""Running the hub: the waitress WSGI server, and the thread that deletes expired uploads."""

from __future__ import annotations

import logging
import threading
from typing import Any

from device import wsgi
from device.errors import SohoaError
from hub.context import MIB, Hub
from hub.uploads import expire_uploads

log = logging.getLogger(__name__)


def make_server(app: Any, hub: Hub, bind: str) -> Any:
    """A waitress server for the hub bound to `bind` (port 0: any free port)."""
    # waitress buffers each body before calling the app: one PATCH chunk at most.
    return wsgi.make_server(app, bind, threads=hub.settings.threads, ident="sohoa-hub",
                            max_request_body_size=hub.max_chunk_bytes + MIB)


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
