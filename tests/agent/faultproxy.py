"""A fault-injecting HTTP/1.1 proxy on 127.0.0.1 for the sync tests and the benchmark.

It relays request by request (the agent always sends Content-Length) so faults hit single
requests: cut the connection after N request bytes, add latency, cap the upload bandwidth,
answer bursts of 5xx, stall a response, or truncate one. Faults are set on `proxy.faults`
while it runs; `proxy.stats` counts what went through.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Faults:
    cut_every: int = 0            # close both sides after this many request body bytes (repeating)
    latency: float = 0.0          # seconds added before each request is forwarded
    rate: float = 0.0             # bytes/s cap on request bodies going up (0 = none)
    fail_next: int = 0            # answer the next N requests with `fail_status`, not forwarded
    fail_status: int = 503
    fail_methods: tuple[str, ...] = ("PATCH", "POST", "GET", "HEAD", "OPTIONS")
    stall_next: int = 0           # forward the next N requests, then never answer them
    stall_seconds: float = 30.0
    stall_methods: tuple[str, ...] = ("PATCH",)
    truncate_next: int = 0        # forward the next N requests, send back half the answer, close
    truncate_methods: tuple[str, ...] = ("PATCH",)


@dataclass
class Stats:
    requests: int = 0
    body_bytes_up: int = 0
    cuts: int = 0
    failed: int = 0
    stalled: int = 0
    truncated: int = 0
    since_cut: int = 0
    head_bytes_up: int = 0        # request lines and headers
    bytes_down: int = 0           # whole answers (heads and bodies)
    methods: list[str] = field(default_factory=list)


class _Closed(Exception):
    pass


class _Stream:
    """A socket with a read buffer: lines, heads and exact byte counts."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise _Closed
        self.buffer += data

    def head(self) -> bytes:
        while b"\r\n\r\n" not in self.buffer:
            self.fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        return head + b"\r\n\r\n"

    def take(self, limit: int) -> bytes:
        if not self.buffer:
            self.fill()
        piece, self.buffer = self.buffer[:limit], self.buffer[limit:]
        return piece

    def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self.fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line + b"\r\n"


def _headers(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    found = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            found[name.strip().lower()] = value.strip()
    return lines[0], found


class FaultProxy:
    """Listens on 127.0.0.1 (a free port) and relays to `upstream` (host, port)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.faults = Faults()
        self.stats = Stats()
        self.lock = threading.Lock()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._open: set[socket.socket] = set()
        self.on_cut = None  # called (with no arguments) after each cut, e.g. to change the world

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self.server.close()
        with self.lock:
            for sock in list(self._open):
                _close(sock)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.upstream)
        with self.lock:
            self._open |= {client, upstream}
        try:
            down, up = _Stream(client), _Stream(upstream)
            while True:
                if not self._one_request(down, up, client, upstream):
                    break
        except (_Closed, OSError):
            pass
        finally:
            with self.lock:
                self._open -= {client, upstream}
            _close(client)
            _close(upstream)

    def _decide(self, method: str) -> str:
        """Which fault this request gets (taken from the counters under the lock)."""
        with self.lock:
            f = self.faults
            self.stats.requests += 1
            self.stats.methods.append(method)
            for name, methods in (("fail_next", f.fail_methods), ("stall_next", f.stall_methods),
                                  ("truncate_next", f.truncate_methods)):
                if getattr(f, name) > 0 and method in methods:
                    setattr(f, name, getattr(f, name) - 1)
                    return name
        return ""

    def _one_request(self, down: _Stream, up: _Stream, client, upstream) -> bool:
        head = down.head()
        start, headers = _headers(head)
        method = start.split(" ", 1)[0]
        length = int(headers.get("content-length", "0"))
        fault = self._decide(method)
        if self.faults.latency:
            time.sleep(self.faults.latency)
        if fault == "fail_next":
            _drain(down, length)
            status = self.faults.fail_status
            client.sendall(f"HTTP/1.1 {status} Injected\r\nContent-Length: 0\r\n\r\n".encode())
            self.stats.failed += 1
            return True
        upstream.sendall(head)
        with self.lock:
            self.stats.head_bytes_up += len(head)
        if not self._relay_body(down, upstream, length):
            return False
        answer = self._read_answer(up, method)
        if fault == "stall_next":
            self.stats.stalled += 1
            self._stop.wait(self.faults.stall_seconds)
            return False
        if fault == "truncate_next":
            self.stats.truncated += 1
            client.sendall(answer[: max(1, len(answer) // 2)])
            return False
        client.sendall(answer)
        with self.lock:
            self.stats.bytes_down += len(answer)
        return True

    def _relay_body(self, down: _Stream, upstream: socket.socket, length: int) -> bool:
        """Forward the request body, paced and cut as the faults say; False after a cut."""
        left = length
        while left:
            piece = down.take(min(left, 16384))
            cut = self.faults.cut_every
            if cut:
                with self.lock:
                    room = cut - self.stats.since_cut
                if len(piece) >= room:
                    upstream.sendall(piece[:room])
                    with self.lock:
                        self.stats.body_bytes_up += room
                        self.stats.since_cut = 0
                        self.stats.cuts += 1
                    if self.on_cut:
                        self.on_cut()
                    return False
            if self.faults.rate:
                time.sleep(len(piece) / self.faults.rate)
            upstream.sendall(piece)
            with self.lock:
                self.stats.body_bytes_up += len(piece)
                self.stats.since_cut += len(piece)
            left -= len(piece)
        return True

    def _read_answer(self, up: _Stream, method: str) -> bytes:
        head = up.head()
        start, headers = _headers(head)
        status = int(start.split(" ")[1])
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return head
        if "content-length" in headers:
            return head + _exact(up, int(headers["content-length"]))
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                line = up.line()
                body += line
                size = int(line.split(b";")[0].strip(), 16)
                body += _exact(up, size + 2)
                if size == 0:
                    return head + body
        body = b""
        try:
            while True:
                body += up.take(65536)
        except _Closed:
            return head + body


def _exact(stream: _Stream, count: int) -> bytes:
    data = b""
    while len(data) < count:
        data += stream.take(count - len(data))
    return data


def _drain(stream: _Stream, count: int) -> None:
    while count:
        count -= len(stream.take(min(count, 65536)))


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
