"""Enrollment with a provincial hub: the one-time code exchange, the stored token, the pinned key."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx

from agent.errors import EnrollmentRefused, NotEnrolledError, SyncUnavailable
from device import __version__
from device.box import Box
from device.db import outbox
from device.db.events import record_event
from device.errors import IntegrityError, StateError
from device.files import atomic_output
from device.receipts import public_key_from_b64

log = logging.getLogger(__name__)

TOKEN_FILE = "hub_token"
API = "/api/v1/"


@dataclass(frozen=True)
class Enrollment:
    """What the box keeps of its enrollment; `public_key` is pinned for good."""

    hub_url: str
    device_id: str
    hub_id: str
    public_key: str
    tus_endpoint: str
    token: str

    def api(self, name: str) -> str:
        return urljoin(self.hub_url.rstrip("/") + API, name)

    @property
    def tus_url(self) -> str:
        return urljoin(self.hub_url.rstrip("/") + "/", self.tus_endpoint)


def _token_path(box: Box) -> Path:
    return box.config.paths.secrets / TOKEN_FILE


def enroll(box: Box, hub_url: str, code: str, *, transport: httpx.BaseTransport | None = None,
           actor: str = "agent") -> Enrollment:
    """Exchange the hub's one-time code for a device token and pin the hub's public key.

    Enrolling again (a new token) is allowed only with the same hub key."""
    settings = box.config.settings
    body = {"code": code, "box_name": settings.box.name, "version": __version__}
    url = urljoin(hub_url.rstrip("/") + API, "enroll")
    try:
        with httpx.Client(transport=transport,
                          timeout=settings.agent.request_timeout_seconds) as client:
            response = client.post(url, json=body)
    except httpx.TransportError as exc:
        raise SyncUnavailable(f"cannot reach the hub at {hub_url}: {exc}",
                              message_vi="Không kết nối được máy chủ tiếp nhận.") from exc
    if response.status_code in (400, 403, 404):
        raise EnrollmentRefused(f"the hub refused the enrollment code ({response.status_code}: "
                                f"{_reason(response)})",
                                message_vi="Máy chủ từ chối mã đăng ký (sai, đã dùng hoặc hết hạn).")
    if response.status_code != 200:
        raise SyncUnavailable(f"enrollment: the hub answered {response.status_code}")
    answer = response.json()
    public_key_from_b64(answer["hub_public_key"])  # refuse a malformed key before pinning it
    pinned = outbox.sync_values(box.db).get("hub_public_key")
    if pinned and pinned != answer["hub_public_key"]:
        raise IntegrityError("the hub offers another signing key than the one this box pinned; "
                             "refusing (a new hub needs a freshly initialised box)",
                             message_vi="Khoá của máy chủ khác khoá đã ghi nhận; từ chối.")
    box.config.paths.secrets.mkdir(mode=0o700, parents=True, exist_ok=True)
    with atomic_output(_token_path(box), mode=0o600) as handle:
        handle.write(answer["token"].encode("ascii"))
    outbox.set_sync_values(box.db, {
        "hub_url": hub_url.rstrip("/"), "device_id": str(answer["device_id"]),
        "hub_id": str(answer["hub_id"]), "hub_public_key": answer["hub_public_key"],
        "tus_endpoint": answer.get("tus_endpoint", API + "uploads/")})
    record_event(box.db, actor, "agent.enroll", "hub", str(answer["hub_id"]),
                 {"hubUrl": hub_url, "deviceId": str(answer["device_id"])})
    log.info("enrolled with hub %s as device %s", answer["hub_id"], answer["device_id"])
    return load_enrollment(box)


def _reason(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    return str(data.get("message") or data.get("error") or data) if isinstance(data, dict) else str(data)


def load_enrollment(box: Box) -> Enrollment:
    """The stored enrollment; NotEnrolledError when there is none."""
    values = outbox.sync_values(box.db)
    if "hub_public_key" not in values:
        raise NotEnrolledError("this box is not enrolled with a hub: run `sohoa enroll URL CODE`",
                               message_vi="Hộp chưa đăng ký với máy chủ tiếp nhận.")
    try:
        token = _token_path(box).read_text(encoding="ascii").strip()
    except OSError as exc:
        raise StateError(f"the hub token is missing ({exc.strerror}): enroll again") from None
    hub_url = box.config.settings.agent.hub_url or values["hub_url"]
    return Enrollment(hub_url=hub_url, device_id=values["device_id"], hub_id=values["hub_id"],
                      public_key=values["hub_public_key"], tus_endpoint=values["tus_endpoint"],
                      token=token)


def pinned_key(box: Box) -> str:
    """The hub key pinned at enrollment (for receipts brought on a USB drive)."""
    key = outbox.sync_values(box.db).get("hub_public_key")
    if not key:
        raise NotEnrolledError("no hub key is pinned: enroll the box before importing receipts",
                               message_vi="Chưa có khoá của máy chủ: hãy đăng ký hộp trước.")
    return key
