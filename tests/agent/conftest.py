"""Fixtures of the agent's tests: a box with packages in its outbox, a hub key, a signed receipt."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from device.db import outbox, records
from device.receipts import Receipt, public_key_b64, sign_receipt


@dataclass
class FakePackage:
    """What the package builder hands to queue_package (the fields the outbox reads)."""

    path: Path
    sha256: str
    size: int
    package_id: str
    file_code: str | None = None
    network_allowed: bool = True


@pytest.fixture
def make_package(box, tmp_path):
    """A package file of random bytes, queued in the box's outbox; returns its upload row."""
    folder = tmp_path / "packages"
    folder.mkdir(exist_ok=True)

    def make(size: int = 200_000, file_code: str | None = None, name: str | None = None) -> dict:
        data = os.urandom(size)
        sha = hashlib.sha256(data).hexdigest()
        path = folder / (name or f"{sha[:8]}.zip")
        path.write_bytes(data)
        # As the builder records it: the packaged version's own network rule (Mật: held).
        allowed = file_code is None or bool(records.dossier_by_code(box.db, file_code)["network_allowed"])
        outbox.queue_package(box, FakePackage(path, sha, size, f"pkg-{sha[:8]}", file_code, allowed))
        return outbox.upload_by_sha256(box.db, sha)
    return make


@pytest.fixture
def hub_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def pin(box, hub_key, tmp_path):
    """Enroll the box by hand (no hub): pinned key, device id, a token in secrets/."""
    def do(url: str = "http://127.0.0.1:9", token: str = "t0ken") -> None:
        outbox.set_sync_values(box.db, {"hub_url": url, "device_id": "dev-1", "hub_id": "hub-1",
                                        "hub_public_key": public_key_b64(hub_key),
                                        "tus_endpoint": "/api/v1/uploads/"})
        secrets = box.config.paths.secrets
        secrets.mkdir(mode=0o700, exist_ok=True)
        (secrets / "hub_token").write_text(token)
    return do


def signed(key: Ed25519PrivateKey, upload: dict, verdict: str = "accepted", **changes) -> dict:
    fields = dict(package_id=upload["package_id"], sha256=upload["sha256"], size=upload["size"],
                  received_at=dt.datetime.now(dt.timezone.utc).isoformat(), verdict=verdict,
                  reasons=[] if verdict == "accepted" else ["bad"], hub_id="hub-1", device_id="dev-1")
    fields.update(changes)
    return sign_receipt(Receipt(**fields), key)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def set_agent(box, **values) -> None:
    """Change the box's [agent] settings in place (as if its sohoa.toml said so)."""
    import dataclasses

    from device.config import AgentConfig

    agent = AgentConfig(**{**box.config.settings.agent.model_dump(), **values})
    settings = box.config.settings.model_copy(update={"agent": agent})
    box.config = dataclasses.replace(box.config, settings=settings)
