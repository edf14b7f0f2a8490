"""The demo's service supervisor: runs `sohoa` services as children, waits for their READY and stops them all.

Each child is started as its systemd unit would start it, with $NOTIFY_SOCKET pointing at an
abstract Unix socket of ours, so the demo learns of READY=1 (and STATUS) exactly as systemd
does. Every child leads its own process group (a Ctrl-C at the terminal reaches only the
demo, which stops them in order; a stop reaches a worker's page processes too) and asks the
kernel for SIGTERM when the demo dies (PR_SET_PDEATHSIG), so killing the demo leaves no orphan.
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from device.errors import SohoaError

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_PORT = re.compile(r"\bport (\d+)\b")


class ServiceFailed(SohoaError):
    """A service of the demo exited or did not become ready."""


def _die_with_parent(parent_pid: int):
    """A preexec_fn: SIGTERM this child when the demo dies, even by SIGKILL."""
    def setup() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            os._exit(71)
        if os.getppid() != parent_pid:  # the demo died before prctl took effect
            os._exit(0)
    return setup


@dataclass
class Service:
    """One child: its name, process, notify socket and the last STATUS it sent."""

    name: str
    process: subprocess.Popen
    notify: socket.socket
    log_path: Path
    status: str = ""
    ready: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def port(self) -> int | None:
        found = _PORT.search(self.status)
        return int(found.group(1)) if found else None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class Supervisor:
    """Starts `sohoa --data D --config C ARGS…` children and stops them, last started first."""

    def __init__(self, data_dir: Path, config_file: Path, log_dir: Path,
                 grace_seconds: float = 20.0) -> None:
        self.data_dir, self.config_file, self.log_dir = data_dir, config_file, log_dir
        self.grace_seconds = grace_seconds
        self.services: list[Service] = []
        log_dir.mkdir(parents=True, exist_ok=True)

    def command(self, *args: str) -> list[str]:
        """The argv of `sohoa` with this demo's data and configuration."""
        return [sys.executable, "-m", "device.cli", "--data", str(self.data_dir),
                "--config", str(self.config_file), *args]

    def start(self, name: str, *args: str, timeout: float = 180.0,
              env: dict[str, str] | None = None) -> Service:
        """Start a service and wait for its READY=1; ServiceFailed if it exits or times out."""
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        address = f"sohoa-demo-{os.getpid()}-{name}-{os.urandom(4).hex()}"
        notify.bind("\0" + address)
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log_file:
            process = subprocess.Popen(
                self.command("-v", *args), stdin=subprocess.DEVNULL, stdout=log_file,
                stderr=subprocess.STDOUT, env={**os.environ, **(env or {}), "NOTIFY_SOCKET": "@" + address},
                process_group=0, preexec_fn=_die_with_parent(os.getpid()))
        service = Service(name, process, notify, log_path)
        self.services.append(service)
        log.info("started %s (pid %d): %s", name, process.pid, " ".join(args))
        self._wait_ready(service, timeout)
        return service

    def _wait_ready(self, service: Service, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not service.ready:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ServiceFailed(f"{service.name} was not ready after {timeout:.0f} s; its log "
                                    f"{service.log_path} ends:\n{service.log_tail()}")
            self.read_notifications(service, min(left, 0.5))
            if service.process.poll() is not None and not service.ready:
                raise ServiceFailed(f"{service.name} exited with {service.process.returncode} before "
                                    f"it was ready; its log {service.log_path} ends:\n"
                                    f"{service.log_tail()}")

    @staticmethod
    def read_notifications(service: Service, wait: float) -> None:
        """Take the datagrams the service sent (waiting up to `wait` s for the first)."""
        service.notify.settimeout(wait)  # 0: only what is queued already
        while True:
            try:
                data = service.notify.recv(4096)
            except (TimeoutError, BlockingIOError):
                return
            for line in data.decode("utf-8", "replace").splitlines():
                key, _, value = line.partition("=")
                if key == "READY" and value == "1":
                    service.ready = True
                elif key == "STATUS":
                    service.status = value
            service.notify.settimeout(0)

    def poll(self) -> Service | None:
        """Take what the services sent (a notify queue left full would block a sender such as
        the agent, which sends STATUS after every pass); the first that is no longer running."""
        for service in self.services:
            self.read_notifications(service, 0)
        return next((s for s in self.services if s.process.poll() is not None), None)

    def run_once(self, *args: str, timeout: float = 60.0) -> str:
        """A one-off `sohoa` command (e.g. an enrollment); its stdout, ServiceFailed on failure."""
        done = subprocess.run(self.command(*args), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise ServiceFailed(f"`sohoa {' '.join(args)}` failed ({done.returncode}): "
                                f"{done.stderr.strip() or done.stdout.strip()}")
        return done.stdout.strip()

    def stop_all(self) -> None:
        """SIGTERM to every service's process group, last started first; SIGKILL after the grace."""
        for service in reversed(self.services):
            if service.process.poll() is None:
                _signal_group(service, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_seconds
        for service in reversed(self.services):
            try:
                service.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0f s: killing it", service.name,
                            self.grace_seconds)
                _signal_group(service, signal.SIGKILL)
                service.process.wait()
            service.notify.close()
            log.info("%s stopped (exit %s)", service.name, service.process.returncode)
        self.services.clear()


def _signal_group(service: Service, signum: int) -> None:
    try:
        os.killpg(service.process.pid, signum)
    except ProcessLookupError:
        pass  # already gone: nothing left to stop
