"""Enrollment codes are single-use and expire; every device call needs a live token."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import httpx
import pytest

from tests.hub.conftest import create_upload, metadata_header, tus_headers


def test_enrollment_gives_a_token_the_hub_key_and_the_tus_endpoint(running_hub):
    answer = running_hub.enroll("xa-an-binh")
    assert answer["device_id"] == "xa-an-binh" and answer["hub_id"] == "hub-test"
    assert answer["tus_endpoint"] == "/api/v1/uploads/"
    assert len(base64.b64decode(answer["hub_public_key"])) == 32
    assert answer["hub_public_key"] == running_hub.hub.public_key
    assert len(base64.urlsafe_b64decode(answer["token"] + "==")) == 32


def test_the_hub_keeps_only_a_hash_of_the_token(running_hub, device):
    db = running_hub.hub.catalog()
    try:
        dump = "\n".join(db.conn.iterdump())
    finally:
        db.close()
    assert device["token"] not in dump
    assert hashlib.sha256(device["token"].encode()).hexdigest() in dump


def test_a_code_used_twice_is_refused(running_hub):
    code = running_hub.code("xa-hai-lan")
    body = {"code": code, "box_name": "box", "version": "1"}
    assert httpx.post(f"{running_hub.url}/api/v1/enroll", json=body).status_code == 200
    again = httpx.post(f"{running_hub.url}/api/v1/enroll", json=body)
    assert again.status_code == 403 and again.json()["error"] == "enroll.refused"


def test_an_expired_code_is_refused(running_hub):
    from hub.devices import issue_enrollment_code

    db = running_hub.hub.catalog()
    try:
        code = issue_enrollment_code(db, "xa-cu", 24, actor="test")
        db.conn.execute("UPDATE enrollment_codes SET expires_at = ?",
                        ((dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)).isoformat(),))
    finally:
        db.close()
    answer = httpx.post(f"{running_hub.url}/api/v1/enroll",
                        json={"code": code, "box_name": "b", "version": "1"})
    assert answer.status_code == 403


@pytest.mark.parametrize("body", [{"box_name": "b"}, {"code": 5, "box_name": "b"}, "not json"])
def test_a_bad_enroll_body_is_400(running_hub, body):
    kwargs = {"content": body} if isinstance(body, str) else {"json": body}
    assert httpx.post(f"{running_hub.url}/api/v1/enroll", **kwargs).status_code == 400


def test_an_unknown_code_is_refused(running_hub):
    answer = httpx.post(f"{running_hub.url}/api/v1/enroll",
                        json={"code": "AAAA-BBBB-CCCC-DDDD", "box_name": "b", "version": "1"})
    assert answer.status_code == 403


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_without_a_valid_token_every_call_is_401_and_nothing_is_stored(running_hub, device, token):
    data = b"x" * 100
    with running_hub.client(token) as client:
        calls = [
            client.get(f"/api/v1/packages/{'0' * 64}"),
            client.post("/api/v1/report", json={"health": {}, "dossiers": []}),
            client.post("/api/v1/uploads/", headers=tus_headers(**{
                "Upload-Length": "100",
                "Upload-Metadata": metadata_header(hashlib.sha256(data).hexdigest())})),
        ]
    for answer in calls:
        assert answer.status_code == 401
        assert answer.json()["error"] == "unauthorized" and answer.json()["message"]
    assert running_hub.partial_files() == []


def test_a_revoked_device_gets_401_even_mid_upload(running_hub, device):
    from hub.devices import revoke

    with running_hub.client(device["token"]) as client:
        location = create_upload(client, b"y" * 1000)
        db = running_hub.hub.catalog()
        try:
            revoke(db, device["device_id"], actor="test")
        finally:
            db.close()
        answer = client.patch(location, content=b"y" * 1000, headers=tus_headers(**{
            "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}))
        assert answer.status_code == 401
        assert client.head(location, headers=tus_headers()).status_code == 401
        assert client.post("/api/v1/report", json={}).status_code == 401


def test_a_report_is_kept_and_shown_as_last_contact(running_hub, device):
    with running_hub.client(device["token"]) as client:
        answer = client.post("/api/v1/report", json={
            "health": {"queue_depth": 3, "disk_free_mb": 9000, "cpu_temp_c": 61.5},
            "dossiers": [{"file_code": "H49.64.33.2001.160", "pages": 4}]})
        assert answer.status_code == 204
        assert client.post("/api/v1/report", json={"health": []}).status_code == 400
    from hub import catalog

    db = running_hub.hub.catalog()
    try:
        report = catalog.latest_report(db, device["device_id"])
        assert report["health"]["queue_depth"] == 3
        assert catalog.device(db, device["device_id"])["last_contact"]
    finally:
        db.close()


def test_a_package_the_hub_does_not_hold_is_404(running_hub, device):
    with running_hub.client(device["token"]) as client:
        assert client.get(f"/api/v1/packages/{'a' * 64}").status_code == 404
        assert client.get("/api/v1/packages/nothex").status_code == 400
