"""A hub in memory for sync-pass unit tests (httpx.MockTransport): look-up, report, tus, receipts.

The real hub is exercised by test_sync_hub.py; this one lets a test forge what a hub says."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from device.receipts import Receipt, sign_receipt
from tests.agent.memtus import MemoryTus


class MemoryHub:
    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.key = key
        self.tus = MemoryTus(prefix="/api/v1/uploads/")
        self.stored: dict[str, bytes] = {}
        self.reports: list[dict] = []
        self.forge = None  # callable(receipt_document) -> document, to lie about receipts
        self.down = False
        self.calls: list[tuple[str, str]] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        path = request.url.path
        self.calls.append((request.method, path))
        if request.headers.get("Authorization") != "Bearer t0ken":
            return httpx.Response(401, json={"error": "unauthorized", "message": "bad token"})
        if path == "/api/v1/report":
            self.reports.append(json.loads(request.read()))
            return httpx.Response(204)
        if path.startswith("/api/v1/packages/"):
            sha = path.rsplit("/", 1)[-1]
            if sha not in self.stored:
                return httpx.Response(404, json={"error": "not_found"})
            document = self.receipt(sha)
            return httpx.Response(200, json={"receipt": self.forge(document) if self.forge else document})
        if path.startswith("/api/v1/uploads"):
            response = self.tus.handle(request)
            self._complete()
            return response
        return httpx.Response(404)

    def _complete(self) -> None:
        for key, data in self.tus.uploads.items():
            if len(data) == self.tus.lengths[key]:
                meta = self.tus.metadata[key]
                if hashlib.sha256(data).hexdigest() == meta["sha256"]:
                    self.stored.setdefault(meta["sha256"], bytes(data))

    def receipt(self, sha: str) -> dict:
        data = self.stored[sha]
        return sign_receipt(Receipt(
            package_id="pkg-" + sha[:8], sha256=sha, size=len(data),
            received_at=dt.datetime.now(dt.timezone.utc).isoformat(), verdict="accepted",
            reasons=[], hub_id="hub-1", device_id="dev-1"), self.key)
