"""A tus 1.0 client over httpx: discovery, creation, chunked PATCH with checksums, resume, termination.

Resuming never trusts a local offset: after any cut it asks the server (HEAD) where to go on,
so a cut costs at most the chunk in flight. Transient failures (transport errors, timeouts,
5xx) are retried with back-off inside one upload call up to `max_retries` times in a row.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import httpx

from agent.backoff import Backoff
from agent.errors import NotEnrolledError, SyncUnavailable, UploadGone
from agent.throttle import TokenBucket
from device.errors import InputError, IntegrityError

log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
_PIECE = 16 << 10  # bytes handed to the socket at a time, so the bandwidth cap stays smooth


@dataclass(frozen=True)
class ServerCapabilities:
    """What OPTIONS said: extensions, checksum algorithms and the largest upload."""

    extensions: frozenset[str] = frozenset()
    checksum_algorithms: frozenset[str] = frozenset()
    max_size: int | None = None

    @property
    def checksum_algorithm(self) -> str | None:
        """sha256 when offered, else sha1, else none (the receipt's whole-file hash guards)."""
        if "checksum" not in self.extensions:
            return None
        for name in ("sha256", "sha1"):
            if name in self.checksum_algorithms:
                return name
        return None


@dataclass
class TransferStats:
    """Bytes put into PATCH bodies and requests made, for the benchmark and the logs."""

    body_bytes: int = 0
    requests: int = 0
    resumes: int = 0
    checksum_retries: int = 0
    header_bytes: int = 0
    offsets: list[int] = field(default_factory=list)


def _header_size(request: httpx.Request) -> int:
    return sum(len(k) + len(v) + 4 for k, v in request.headers.raw) + len(request.url.raw_path) + 16


class TusClient:
    """Uploads files to one tus endpoint through an httpx.Client (auth and timeouts set on it)."""

    def __init__(self, client: httpx.Client, endpoint: str, *, chunk_bytes: int = 256 << 10,
                 bucket: TokenBucket | None = None, backoff: Backoff = Backoff(1.0, 60.0),
                 max_retries: int = 8, sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.endpoint = endpoint
        self.chunk_bytes = chunk_bytes
        self.bucket = bucket or TokenBucket(0)
        self.backoff = backoff
        self.max_retries = max_retries
        self.sleep = sleep
        self.stats = TransferStats()
        self._capabilities: ServerCapabilities | None = None

    def _request(self, method: str, url: str, **kwargs) -> httpx.Response:
        headers = {"Tus-Resumable": TUS_VERSION, **kwargs.pop("headers", {})}
        request = self.client.build_request(method, url, headers=headers, **kwargs)
        self.stats.requests += 1
        self.stats.header_bytes += _header_size(request)
        try:
            return self.client.send(request)
        except httpx.TransportError as exc:  # cuts, refused connections, timeouts
            raise SyncUnavailable(f"{method} {url}: {type(exc).__name__}: {exc}") from exc

    def capabilities(self) -> ServerCapabilities:
        """OPTIONS on the endpoint (asked once per client)."""
        if self._capabilities is None:
            response = self._request("OPTIONS", self.endpoint)
            _check(response, (200, 204), "OPTIONS")
            split = lambda name: frozenset(  # noqa: E731
                part.strip() for part in response.headers.get(name, "").split(",") if part.strip())
            max_size = response.headers.get("Tus-Max-Size")
            self._capabilities = ServerCapabilities(
                split("Tus-Extension"), split("Tus-Checksum-Algorithm"),
                int(max_size) if max_size and max_size.isdigit() else None)
        return self._capabilities

    def create(self, size: int, metadata: dict[str, str]) -> str:
        """A new upload of `size` bytes; returns its absolute URL."""
        limit = self.capabilities().max_size
        if limit is not None and size > limit:
            raise InputError(f"package of {size} bytes exceeds the server's limit of {limit}",
                             message_vi="Gói quá lớn so với giới hạn của máy chủ tiếp nhận.")
        encoded = ",".join(f"{key} {base64.b64encode(value.encode()).decode()}"
                           for key, value in metadata.items())
        response = self._request("POST", self.endpoint, headers={
            "Upload-Length": str(size), "Upload-Metadata": encoded, "Content-Length": "0"})
        _check(response, (201,), "POST (creation)")
        location = response.headers.get("Location")
        if not location:
            raise SyncUnavailable("creation answered 201 without a Location")
        return urljoin(str(response.url), location)

    def offset(self, url: str) -> int:
        """The offset the server has committed (HEAD)."""
        response = self._request("HEAD", url, headers={"Cache-Control": "no-store"})
        if response.status_code in (403, 404, 410):
            raise UploadGone(f"HEAD {url}: {response.status_code}")
        _check(response, (200, 204), "HEAD")
        return _offset_header(response, "HEAD")

    def finish(self, url: str, size: int) -> None:
        """An empty PATCH at offset = size: every byte is there but the server never confirmed
        the last one (its final answer was lost or a 5xx); the hub takes the upload in again."""
        response = self._request("PATCH", url, headers={
            "Upload-Offset": str(size), "Content-Type": "application/offset+octet-stream",
            "Content-Length": "0"})
        if response.status_code in (403, 404, 410):
            raise UploadGone(f"PATCH {url}: {response.status_code}")
        _check(response, (204,), "PATCH (finish)")

    def terminate(self, url: str) -> None:
        """Delete an upload on the server (termination extension)."""
        response = self._request("DELETE", url)
        if response.status_code not in (204, 404, 410):
            _check(response, (204,), "DELETE")

    def upload(self, url: str, path: Path, size: int, *, offset: int | None = None,
               on_progress: Callable[[int], None] = lambda offset: None) -> int:
        """Send `path` from the server's offset to the end; `on_progress(offset)` after every
        committed chunk. Returns the final offset (= size). `offset` (just learnt from the
        server) saves the first HEAD; after any failure the offset is asked again."""
        failures = 0
        position = offset
        with Path(path).open("rb") as handle:
            while position is None or position < size:
                try:
                    if position is None:
                        position = self.offset(url)
                        self.stats.offsets.append(position)
                        continue
                    position = self._patch(url, handle, position, size)
                    failures = 0
                    on_progress(position)
                except UploadGone:
                    raise
                except _ChecksumMismatch as exc:
                    failures += 1
                    self.stats.checksum_retries += 1
                    if failures > self.max_retries:
                        raise IntegrityError(f"{url}: chunk at {position} refused {failures} "
                                             "times (checksum mismatch)") from exc
                except SyncUnavailable as exc:
                    failures += 1
                    if failures > self.max_retries:
                        raise
                    delay = self.backoff.delay(failures)
                    log.warning("upload %s: %s; asking the offset again in %.1f s", url, exc, delay)
                    self.sleep(delay)
                    if position is not None:
                        self.stats.resumes += 1
                    position = None
        return position

    def _patch(self, url: str, handle, position: int, size: int) -> int:
        handle.seek(position)
        chunk = handle.read(min(self.chunk_bytes, size - position))
        headers = {"Upload-Offset": str(position), "Content-Type": "application/offset+octet-stream",
                   "Content-Length": str(len(chunk))}
        algorithm = self.capabilities().checksum_algorithm
        if algorithm:
            digest = hashlib.new(algorithm, chunk).digest()
            headers["Upload-Checksum"] = f"{algorithm} {base64.b64encode(digest).decode()}"
        response = self._request("PATCH", url, headers=headers, content=self._paced(chunk))
        if response.status_code == 460:
            raise _ChecksumMismatch(f"PATCH {url} at {position}: checksum mismatch")
        if response.status_code in (404, 410):
            raise UploadGone(f"PATCH {url}: {response.status_code}")
        if response.status_code == 409:  # our offset is not the server's: ask it
            raise SyncUnavailable(f"PATCH {url} at {position}: offset conflict (409)")
        _check(response, (204, 200), "PATCH")
        if "Upload-Offset" not in response.headers:
            return position + len(chunk)
        return _offset_header(response, "PATCH")

    def _paced(self, chunk: bytes) -> Iterator[bytes]:
        view = memoryview(chunk)
        for start in range(0, len(chunk), _PIECE):
            piece = view[start:start + _PIECE]
            self.bucket.take(len(piece))
            self.stats.body_bytes += len(piece)
            yield bytes(piece)


class _ChecksumMismatch(SyncUnavailable):
    """460: the chunk arrived damaged and was not stored; send it again."""


def _check(response: httpx.Response, expected: tuple[int, ...], what: str) -> None:
    if response.status_code in expected:
        return
    detail = response.text[:200] if response.content else ""
    if response.status_code == 401:
        raise NotEnrolledError(f"{what}: the hub refused this box's token (401): enroll again",
                               message_vi="Máy chủ từ chối mã truy cập của hộp: hãy đăng ký lại.")
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise SyncUnavailable(f"{what}: server answered {response.status_code} {detail}".strip())
    raise SyncUnavailable(f"{what}: unexpected answer {response.status_code} {detail}".strip())


def _offset_header(response: httpx.Response, what: str) -> int:
    """The Upload-Offset a tus server answered; SyncUnavailable (retried with back-off) when it
    is missing or not a number: a captive portal or a broken proxy answered instead of the hub."""
    value = response.headers.get("Upload-Offset", "")
    if not re.fullmatch(r"[0-9]{1,19}", value):
        raise SyncUnavailable(f"{what} {response.url}: answered {response.status_code} without a valid "
                              "Upload-Offset (a captive portal or a proxy, not the hub?)")
    return int(value)
