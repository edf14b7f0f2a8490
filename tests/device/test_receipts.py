"""Receipts: signing and verification round trip; anything altered, unsigned or foreign is refused."""

from __future__ import annotations

import copy
import stat

import pytest

from device.errors import ConfigError, IntegrityError
from device.receipts import (
    Receipt, canonical_json, generate_signing_key, load_signing_key, public_key_b64, sign_receipt,
    verify_receipt,
)


@pytest.fixture
def key(tmp_path):
    return generate_signing_key(tmp_path / "secrets" / "hub_signing.pem")


@pytest.fixture
def receipt() -> Receipt:
    return Receipt(package_id="H49.64.33.2001.160-v1", sha256="ab" * 32, size=12345,
                   received_at="2025-06-01T03:04:05.000000+00:00", verdict="rejected",
                   reasons=["METS: checksum of documents/1.pdf does not match (tệp hỏng)"],
                   hub_id="hub-ha-noi", device_id="dev-7")


def test_a_signed_receipt_verifies_back_to_the_same_fields(key, receipt):
    document = sign_receipt(receipt, key)
    assert document["key_id"] == "hub-ha-noi"
    assert verify_receipt(document, public_key_b64(key)) == receipt


def test_canonical_json_is_sorted_compact_and_keeps_vietnamese():
    assert canonical_json({"b": 1, "a": "tệp"}) == '{"a":"tệp","b":1}'.encode("utf-8")


@pytest.mark.parametrize("field, value", [
    ("verdict", "accepted"), ("size", 12346), ("sha256", "cd" * 32), ("reasons", []),
    ("device_id", "dev-8"),
])
def test_a_tampered_field_is_refused(key, receipt, field, value):
    document = sign_receipt(receipt, key)
    document["receipt"][field] = value
    with pytest.raises(IntegrityError, match="signature does not match"):
        verify_receipt(document, public_key_b64(key))


def test_a_receipt_signed_by_another_key_is_refused(tmp_path, key, receipt):
    other = generate_signing_key(tmp_path / "other.pem")
    with pytest.raises(IntegrityError):
        verify_receipt(sign_receipt(receipt, other), public_key_b64(key))


@pytest.mark.parametrize("damage", ["drop", "empty", "garbage"])
def test_an_unsigned_or_garbled_signature_is_refused(key, receipt, damage):
    document = sign_receipt(receipt, key)
    if damage == "drop":
        del document["signature"]
    else:
        document["signature"] = "" if damage == "empty" else "not base64!"
    with pytest.raises(IntegrityError):
        verify_receipt(document, public_key_b64(key))


def test_a_signed_body_with_missing_or_extra_fields_is_refused(key, receipt):
    body = receipt.as_dict()
    del body["size"]
    document = {"receipt": body, "signature": "", "key_id": "x"}
    from base64 import b64encode

    document["signature"] = b64encode(key.sign(canonical_json(body))).decode()
    with pytest.raises(IntegrityError, match="fields"):
        verify_receipt(document, public_key_b64(key))
    good = sign_receipt(receipt, key)
    extra = copy.deepcopy(good)
    extra["receipt"]["note"] = "x"
    with pytest.raises(IntegrityError):
        verify_receipt(extra, public_key_b64(key))


@pytest.mark.parametrize("document", [None, [], {"receipt": "x"}, {"signature": "AA=="}])
def test_malformed_documents_are_refused(key, document):
    with pytest.raises(IntegrityError):
        verify_receipt(document, public_key_b64(key))


def test_the_key_file_is_private_loads_back_and_is_never_overwritten(tmp_path, key):
    path = tmp_path / "secrets" / "hub_signing.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public_key_b64(load_signing_key(path)) == public_key_b64(key)
    with pytest.raises(ConfigError):
        generate_signing_key(path)
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        load_signing_key(path)


def test_a_public_key_is_32_raw_bytes_in_base64(key):
    from base64 import b64decode

    assert len(b64decode(public_key_b64(key))) == 32
