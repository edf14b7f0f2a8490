"""An in-memory tus 1.0 server as an httpx.MockTransport handler, with faults on request (unit tests)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field

import httpx


@dataclass
class MemoryTus:
    """Holds uploads in memory; `faults` is a list of callables consulted per request:
    each gets (request, self) and returns a Response, raises, or returns None (no fault)."""

    checksum: bool = True
    max_size: int | None = None
    uploads: dict[str, bytearray] = field(default_factory=dict)
    lengths: dict[str, int] = field(default_factory=dict)
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    faults: list = field(default_factory=list)
    prefix: str = "/files/"

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.requests.append(request)
        for fault in list(self.faults):
            answer = fault(request, self, body)
            if answer is not None:
                return answer
        headers = {"Tus-Resumable": "1.0.0"}
        key = request.url.path.rsplit("/", 1)[-1]
        if request.method == "OPTIONS":
            headers["Tus-Version"] = "1.0.0"
            headers["Tus-Extension"] = "creation,termination" + (",checksum" if self.checksum else "")
            if self.checksum:
                headers["Tus-Checksum-Algorithm"] = "sha1,sha256"
            if self.max_size:
                headers["Tus-Max-Size"] = str(self.max_size)
            return httpx.Response(204, headers=headers)
        if request.method == "POST":
            key = f"u{len(self.uploads) + 1}"
            self.uploads[key] = bytearray()
            self.lengths[key] = int(request.headers["Upload-Length"])
            self.metadata[key] = {
                name: base64.b64decode(value).decode() for name, value in
                (item.split(" ") for item in request.headers["Upload-Metadata"].split(","))}
            return httpx.Response(201, headers={**headers, "Location": f"{self.prefix}{key}"})
        if key not in self.uploads:
            return httpx.Response(404, headers=headers)
        if request.method == "HEAD":
            return httpx.Response(200, headers={**headers, "Upload-Offset": str(len(self.uploads[key])),
                                                "Upload-Length": str(self.lengths[key])})
        if request.method == "DELETE":
            del self.uploads[key]
            return httpx.Response(204, headers=headers)
        if request.method == "PATCH":
            return self._patch(request, key, body, headers)
        return httpx.Response(405)

    def _patch(self, request, key, body, headers):
        if int(request.headers["Upload-Offset"]) != len(self.uploads[key]):
            return httpx.Response(409, headers=headers)
        checksum = request.headers.get("Upload-Checksum")
        if checksum:
            algorithm, digest = checksum.split(" ")
            if base64.b64encode(hashlib.new(algorithm, body).digest()).decode() != digest:
                return httpx.Response(460, headers=headers)
        self.uploads[key] += body
        return httpx.Response(204, headers={**headers, "Upload-Offset": str(len(self.uploads[key]))})
