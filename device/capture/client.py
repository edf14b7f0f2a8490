"""A small client of the capture service's Unix socket (httpx), for the CLI and the web UI.

The service's JSON errors come back as ServiceError carrying the English and Vietnamese
messages and an exit code matching the error the service raised.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from device.config import Config
from device.errors import SohoaError

log = logging.getLogger(__name__)

SOCKET_NAME = "capture.sock"
# The service's error keys and the exit code of the error class behind each (device/errors.py).
EXIT_CODES = {"bad_request": 65, "too_large": 65, "not_found": 66, "conflict": 69, "camera_unavailable": 69,
              "camera_error": 69, "storage_full": 73, "storage_error": 74}


def socket_path(config: Config) -> Path:
    """Where the capture service listens: capture.socket, else <data_dir>/run/capture.sock."""
    return config.settings.capture.socket or config.paths.run / SOCKET_NAME


class ServiceError(SohoaError):
    """The capture service refused or failed a request; `key` is its error key."""

    def __init__(self, message: str, *, message_vi: str | None = None, key: str = "internal",
                 status: int = 500, body: dict[str, Any] | None = None) -> None:
        super().__init__(message, message_vi=message_vi)
        self.key, self.status, self.body = key, status, body or {}
        self.exit_code = EXIT_CODES.get(key, 70)
        self.http_status = status  # the service's own answer, passed on as it is


class ServiceUnavailableError(SohoaError):
    """Nothing answers on the capture service's socket."""

    exit_code = 69
    http_status = 503


class CaptureClient:
    """Requests to the capture service; one connection pool, closed with `close()`."""

    def __init__(self, path: Path, *, timeout: float = 10.0) -> None:
        self.path = Path(path)
        transport = httpx.HTTPTransport(uds=str(self.path))
        self._http = httpx.Client(transport=transport, base_url="http://capture",
                                  timeout=httpx.Timeout(timeout))
        self._reached = False  # whether the last request got through (see _probe)

    def __enter__(self) -> CaptureClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def is_serving(self) -> bool:
        """Whether a service answers on the socket (a stale socket file does not)."""
        try:
            self._probe()
            self.status()
        except ServiceUnavailableError:
            return False
        return True

    def status(self) -> dict[str, Any]:
        return self._request("GET", "/status")

    def target(self) -> dict[str, Any] | None:
        return self._request("GET", "/target")["target"]

    def set_target(self, dossier: str, document: int | None = None,
                   layout: str | None = None) -> dict[str, Any]:
        """Aim at `document` (a seq) of `dossier`, or at a new document when it is None;
        `layout` ("page" or "spread": an open register's two pages a shot) if given."""
        body: dict[str, Any] = {"dossier": dossier, "document": document}
        if layout is not None:
            body["layout"] = layout
        return self._request("PUT", "/target", body)["target"]

    def shoot(self, count: int = 1, *, actor: str | None = None,
              expect: dict[str, Any] | None = None, retake: int | None = None) -> dict[str, Any]:
        """Shoot `count` pages into the target; returns {"pages": [...], "target": {...}} once
        all are stored. A run refused or broken part-way raises ServiceError; its `body`
        lists under "pages" the pages that were stored before the failure. `expect`
        ({"dossier", "document"}): refused (409) if the target is no longer that. `retake`
        (a page id of the target's dossier): one shot that replaces that page's capture."""
        body: dict[str, Any] = {"count": count}
        if actor:
            body["actor"] = actor
        if expect is not None:
            body["expect"] = expect
        if retake is not None:
            body["retake"] = retake
        # Each shot takes about a second on a Pi; the service answers only after the last one.
        return self._request("POST", "/shoot", body, timeout=30.0 + 10.0 * count)

    def arm_retake(self, page_id: int | None, *, actor: str | None = None) -> int | None:
        """Make the next single shot, whoever fires it (pedal, auto-capture, screen), replace
        page `page_id` of the target's dossier; None disarms. Returns the armed page. `actor`
        is who the audit trail names as arming (or cancelling) it."""
        body: dict[str, Any] = {"page": page_id}
        if actor:
            body["actor"] = actor
        return self._request("PUT", "/retake", body)["retake"]

    def auto(self) -> dict[str, Any]:
        """Auto-capture's state: {"available", "enabled", "reason"}."""
        return self._request("GET", "/auto")["auto"]

    def set_auto(self, enabled: bool, *, actor: str | None = None) -> dict[str, Any]:
        """Switch auto-capture on or off (until the service restarts); its new state."""
        body: dict[str, Any] = {"enabled": enabled}
        if actor:
            body["actor"] = actor
        return self._request("PUT", "/auto", body)["auto"]

    def preview_jpeg(self) -> bytes:
        response = self._send("GET", "/preview.jpg")
        if response.status_code != 200:
            self._raise(response)
        return response.content

    def preview_frames(self, limit: int | None = None) -> Iterator[bytes]:
        """JPEG frames of the MJPEG stream as they come (until `limit` frames or the stream ends)."""
        self._probe()
        try:
            with self._http.stream("GET", "/preview.mjpg", timeout=httpx.Timeout(10.0, read=30.0)) as response:
                if response.status_code != 200:
                    response.read()
                    self._raise(response)
                count = 0
                for frame in parse_multipart(response.iter_bytes()):
                    yield frame
                    count += 1
                    if limit is not None and count >= limit:
                        return
        except httpx.TransportError as exc:
            raise ServiceUnavailableError(f"the preview stream broke: {exc}") from None

    # -- plumbing --------------------------------------------------------------------------

    def _request(self, method: str, url: str, body: dict[str, Any] | None = None,
                 timeout: float | None = None) -> dict[str, Any]:
        response = self._send(method, url, body, timeout)
        if response.status_code != 200:
            self._raise(response)
        return response.json()

    def _send(self, method: str, url: str, body: dict[str, Any] | None = None,
              timeout: float | None = None) -> httpx.Response:
        extra = {"timeout": timeout} if timeout is not None else {}
        if not self._reached:
            self._probe()
        try:
            response = self._http.request(method, url, json=body, **extra)
        except httpx.ConnectError as exc:
            self._reached = False
            raise self._not_running(exc) from None
        except httpx.TransportError as exc:
            self._reached = False
            raise ServiceUnavailableError(f"the capture service did not answer: {exc}",
                                          message_vi="Dịch vụ chụp không trả lời.") from None
        self._reached = True
        return response

    def _probe(self) -> None:
        """Connect once with a socket of our own, closed whatever happens: httpcore 1.0 leaves
        its socket unclosed when a Unix-socket connect fails (a ResourceWarning later)."""
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.settimeout(5.0)
            probe.connect(str(self.path))
        except OSError as exc:
            raise self._not_running(exc) from None
        finally:
            probe.close()

    def _not_running(self, exc: Exception) -> ServiceUnavailableError:
        return ServiceUnavailableError(
            f"the capture service is not running (nothing answers on {self.path}: {exc}); "
            "start it with `sohoa capture serve` or `systemctl start sohoa-capture`",
            message_vi="Dịch vụ chụp chưa chạy.")

    @staticmethod
    def _raise(response: httpx.Response) -> None:
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = {}
        if not isinstance(body, dict):
            body = {}
        message = body.get("message") or f"HTTP {response.status_code}"
        raise ServiceError(f"capture service: {message}", message_vi=body.get("message_vi"),
                           key=body.get("error", "internal"), status=response.status_code, body=body)


def parse_multipart(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The parts of a multipart/x-mixed-replace stream whose parts carry a Content-Length."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        while True:
            head_end = buffer.find(b"\r\n\r\n")
            if head_end < 0:
                break
            headers = buffer[:head_end].decode("latin-1").split("\r\n")
            length = next((int(line.split(":", 1)[1]) for line in headers
                           if line.lower().startswith("content-length:")), None)
            if length is None:
                raise ValueError("a preview part has no Content-Length")
            start = head_end + 4
            if len(buffer) < start + length:
                break
            yield buffer[start:start + length]
            buffer = buffer[start + length:].lstrip(b"\r\n")
