"""systemd's notify protocol (sd_notify): READY, STATUS, WATCHDOG and STOPPING datagrams.

The protocol is one datagram of `KEY=value` lines sent to the AF_UNIX socket named by
$NOTIFY_SOCKET (a path, or an abstract socket written with a leading '@'). Outside systemd the
variable is unset and every call is a no-op, so the same code runs in a terminal and in tests.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Sends notifications to the service manager named by the environment (or to nobody)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self.watchdog_seconds = watchdog_interval(env)

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def notify(self, *lines: str) -> bool:
        """Send one datagram; False (logged) if there is no manager or it cannot be reached."""
        if not self._address:
            return False
        payload = "\n".join(lines).encode("utf-8")
        with self._lock:
            try:
                if self._socket is None:
                    self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._socket.sendto(payload, self._address)
            except OSError as exc:
                log.warning("sd_notify to %r failed: %s", self._address.replace("\0", "@"), exc)
                return False
        return True

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self, status: str = "") -> bool:
        return self.notify("STOPPING=1", *([f"STATUS={status}"] if status else []))

    def close(self) -> None:
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None


def watchdog_interval(environ: Mapping[str, str]) -> float | None:
    """The watchdog period in seconds that systemd asked for, if it is meant for this process."""
    usec = environ.get("WATCHDOG_USEC", "")
    pid = environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 1_000_000


def keep_watchdog(notifier: Notifier, healthy: Callable[[], str | None], stop: threading.Event,
                  period: float | None = None) -> None:
    """Ping the watchdog every third of its period while `healthy()` returns None (no problem).

    `healthy` returns a reason when a loop of the service is stuck; the pings then stop, so
    systemd kills and restarts the service after WatchdogSec. Returns when `stop` is set.
    """
    interval = period if period is not None else (notifier.watchdog_seconds or 0) / 3
    if interval <= 0:
        return
    reported = False
    while not stop.wait(interval):
        problem = healthy()
        if problem is None:
            notifier.watchdog()
            reported = False
        elif not reported:  # once per episode: journald needs the cause, not a flood
            log.error("not pinging the systemd watchdog: %s", problem)
            notifier.status(f"stuck: {problem}")
            reported = True
