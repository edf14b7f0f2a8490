"""`sohoa demo` as a child process of a test: started on a free port, its address, logins and
service pids read from what it prints, and checks that its services are gone."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
_ADDRESS = re.compile(r"SoHoa Box demo: open (http://\S+)")
_SERVICE = re.compile(r"service (\w+) ready \(pid (\d+)\)")
_LOGIN = re.compile(r"(\w+) login: (\S+) / (\S+)")


@dataclass
class Demo:
    """A running `sohoa demo` and what it printed."""

    process: subprocess.Popen
    lines: queue.Queue
    output: list[str] = field(default_factory=list)
    url: str = ""
    pids: dict[str, int] = field(default_factory=dict)
    logins: dict[str, tuple[str, str]] = field(default_factory=dict)

    def stop(self, timeout: float = 120.0) -> int:
        """Ctrl-C, as a person would; the demo's exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout)

    def read_until_ready(self, timeout: float = 400.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.url:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail("the demo printed no address in time:\n" + "".join(self.output))
            if line is None:
                pytest.fail("the demo ended before it was ready:\n" + "".join(self.output))
            self.output.append(line)
            if found := _SERVICE.search(line):
                self.pids[found.group(1)] = int(found.group(2))
            elif found := _LOGIN.search(line):
                self.logins[found.group(1)] = (found.group(2), found.group(3))
            elif found := _ADDRESS.search(line):
                self.url = found.group(1)
        while "Ctrl-C" not in line:  # the logins come after the address
            line = self.lines.get(timeout=30)
            self.output.append(line)
            if found := _LOGIN.search(line):
                self.logins[found.group(1)] = (found.group(2), found.group(3))


def start_demo(data: Path, *args: str) -> Demo:
    """`sohoa demo --data DATA --bind 127.0.0.1:0 ARGS…`, once it has printed its address."""
    process = subprocess.Popen(
        [sys.executable, "-m", "device.cli", "demo", "--data", str(data), "--bind", "127.0.0.1:0",
         *args], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        with process.stdout:
            for line in process.stdout:
                lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    demo = Demo(process, lines)
    demo.read_until_ready()
    return demo


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (nobody may reap orphans here)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def group_alive(pgid: int) -> list[int]:
    """Live processes of process group `pgid` (a service and, for the worker, its page processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def wait_until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")
