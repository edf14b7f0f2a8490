"""tus headers that are not plain ASCII numbers are a 400 at the hub, never a 500."""

from __future__ import annotations

import socket

from tests.hub.conftest import create_upload


def raw(url, request: bytes) -> bytes:
    host, port = url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return data


def test_superscript_digit_upload_length_is_a_400_not_a_500(running_hub, device):
    token = device["token"].encode()
    req = (b"POST /api/v1/uploads/ HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\n"
           b"Authorization: Bearer " + token + b"\r\nUpload-Length: \xb2\r\n"
           b"Upload-Metadata: filename cC56aXA=\r\nContent-Length: 0\r\n\r\n")
    status = raw(running_hub.url, req).split(b"\r\n")[0]
    assert b" 400 " in status, status


def test_superscript_digit_upload_offset_is_a_400_not_a_500(running_hub, device):

    data = b"x" * 10
    with running_hub.client(device["token"]) as c:
        loc = create_upload(c, data)
    token = device["token"].encode()
    req = (b"PATCH " + loc.encode() + b" HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\n"
           b"Authorization: Bearer " + token + b"\r\nUpload-Offset: \xb9\r\n"
           b"Content-Type: application/offset+octet-stream\r\nContent-Length: 0\r\n\r\n")
    status = raw(running_hub.url, req).split(b"\r\n")[0]
    assert b" 400 " in status, status
