"""The hub's device API as the box calls it: package look-up, reports, and the tus endpoint."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from agent.backoff import Backoff
from agent.enrollment import Enrollment
from agent.errors import NotEnrolledError, SyncUnavailable
from agent.throttle import TokenBucket
from agent.tus_client import TusClient

log = logging.getLogger(__name__)


class HubClient:
    """One connection pool to the hub, with the device token and a timeout on every request."""

    def __init__(self, enrollment: Enrollment, *, timeout: float,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.enrollment = enrollment
        self.http = httpx.Client(
            transport=transport, timeout=httpx.Timeout(timeout),
            headers={"Authorization": f"Bearer {enrollment.token}"})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, method: str, name: str, **kwargs: Any) -> httpx.Response:
        url = self.enrollment.api(name)
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise SyncUnavailable(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 401:
            raise NotEnrolledError("the hub refused this box's token (401): enroll again",
                                   message_vi="Máy chủ từ chối mã truy cập của hộp: hãy đăng ký lại.")
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise SyncUnavailable(f"{method} {url}: the hub answered {response.status_code}")
        return response

    def lookup(self, sha256: str) -> dict[str, Any] | None:
        """The signed receipt document when the hub holds the package, else None."""
        response = self._call("GET", f"packages/{sha256}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise SyncUnavailable(f"package look-up answered {response.status_code}")
        try:
            return response.json()["receipt"]
        except (ValueError, KeyError, TypeError) as exc:
            raise SyncUnavailable(f"package look-up: a malformed answer ({exc})") from exc

    def report(self, body: dict[str, Any]) -> None:
        response = self._call("POST", "report", json=body)
        if response.status_code not in (200, 204):
            raise SyncUnavailable(f"report answered {response.status_code}")

    def tus(self, *, chunk_bytes: int, bucket: TokenBucket, backoff: Backoff,
            sleep=None) -> TusClient:
        kwargs = {"sleep": sleep} if sleep else {}
        return TusClient(self.http, self.enrollment.tus_url, chunk_bytes=chunk_bytes,
                         bucket=bucket, backoff=backoff, **kwargs)
