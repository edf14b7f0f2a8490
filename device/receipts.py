"""Hub receipts: their fields, canonical JSON, Ed25519 signing and verification, and the hub's key.

A signed receipt is `{"receipt": {...}, "signature": "<base64>", "key_id": "<hub_id>"}`; the
signature covers `canonical_json(receipt)` (docs/sync-protocol.md). The hub signs; the box
verifies with the public key it pinned at enrollment (raw 32-byte Ed25519, base64).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from device.errors import ConfigError, IntegrityError
from device.files import atomic_output

log = logging.getLogger(__name__)

VERDICTS = ("accepted", "rejected")
_FIELDS = ("package_id", "sha256", "size", "received_at", "verdict", "reasons", "hub_id",
           "device_id")


@dataclass(frozen=True)
class Receipt:
    """What the hub attests about one package it received."""

    package_id: str
    sha256: str
    size: int
    received_at: str
    verdict: str
    reasons: list[str] = field(default_factory=list)
    hub_id: str = ""
    device_id: str = ""

    @property
    def accepted(self) -> bool:
        return self.verdict == "accepted"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def canonical_json(data: dict[str, Any]) -> bytes:
    """The bytes that are signed: keys sorted, no spaces, UTF-8, non-ASCII kept as is."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def sign_receipt(receipt: Receipt, private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """The signed document for `receipt` (the form sent to the box and written to USB)."""
    body = receipt.as_dict()
    signature = private_key.sign(canonical_json(body))
    return {"receipt": body, "signature": base64.b64encode(signature).decode("ascii"),
            "key_id": receipt.hub_id}


def verify_receipt(document: Any, public_key_b64: str) -> Receipt:
    """The receipt in a signed document, checked against the pinned key.

    Raises IntegrityError when the document is unsigned, mis-signed or malformed."""
    if not isinstance(document, dict) or not isinstance(document.get("receipt"), dict):
        raise _refused("not a signed receipt document")
    signature = document.get("signature")
    if not isinstance(signature, str) or not signature:
        raise _refused("the receipt carries no signature")
    body = document["receipt"]
    try:
        raw_signature = base64.b64decode(signature, validate=True)
        canonical = canonical_json(body)
    except (binascii.Error, ValueError, TypeError):
        raise _refused("the receipt's signature or body is malformed") from None
    try:
        public_key_from_b64(public_key_b64).verify(raw_signature, canonical)
    except InvalidSignature:
        raise _refused("the receipt's signature does not match the hub's key") from None
    return _receipt_from(body)


def _receipt_from(body: dict[str, Any]) -> Receipt:
    if set(body) != set(_FIELDS):
        raise _refused(f"the receipt's fields are {sorted(body)}, expected {sorted(_FIELDS)}")
    text_fields = ("package_id", "sha256", "received_at", "verdict", "hub_id", "device_id")
    if not all(isinstance(body[name], str) for name in text_fields):
        raise _refused("a receipt field that must be text is not")
    if not isinstance(body["size"], int) or isinstance(body["size"], bool) or body["size"] < 0:
        raise _refused("the receipt's size is not a non-negative integer")
    if body["verdict"] not in VERDICTS:
        raise _refused(f"the receipt's verdict {body['verdict']!r} is unknown")
    reasons = body["reasons"]
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise _refused("the receipt's reasons are not a list of text")
    return Receipt(**{name: body[name] for name in _FIELDS})


def _refused(why: str) -> IntegrityError:
    return IntegrityError(f"receipt refused: {why}",
                          message_vi="Biên nhận không hợp lệ (chữ ký sai hoặc thiếu); "
                                     "chưa xoá gì trên máy.")


def public_key_b64(private_key: Ed25519PrivateKey) -> str:
    """The public half as the protocol carries it: raw 32 bytes, base64."""
    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw,
                                                serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    """A pinned public key; IntegrityError when it is not 32 bytes of base64."""
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError, TypeError):
        raise _refused("the pinned hub key is not a base64 raw Ed25519 public key") from None


def generate_signing_key(path: Path) -> Ed25519PrivateKey:
    """A new Ed25519 key written to `path` (PEM, PKCS#8, mode 0600, atomically).

    Refuses to overwrite an existing key: boxes have pinned its public half."""
    path = Path(path)
    if path.exists():
        raise ConfigError(f"{path} already holds a signing key; boxes have pinned it, "
                          "so it is never replaced")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with atomic_output(path, mode=0o600) as handle:
        handle.write(pem)
    log.info("generated a new receipt signing key at %s", path)
    return key


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The hub's key from `path`; ConfigError when it is missing, readable by others, or not Ed25519."""
    path = Path(path)
    try:
        mode = path.stat().st_mode & 0o777
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"signing key {path} cannot be read: {exc.strerror}") from None
    if mode & 0o077:
        raise ConfigError(f"signing key {path} is readable by others (mode {mode:o}); "
                          "chmod 600 it")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ConfigError(f"signing key {path} is not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"signing key {path} is not an Ed25519 key")
    return key


def load_or_generate_signing_key(path: Path) -> Ed25519PrivateKey:
    """The hub's key, made on first start."""
    return load_signing_key(path) if Path(path).exists() else generate_signing_key(path)


def key_fingerprint(public_b64: str) -> str:
    """A short id of a public key for logs and the dashboard (first 16 hex of its SHA-256)."""
    return hashlib.sha256(base64.b64decode(public_b64)).hexdigest()[:16]


__all__ = ["Receipt", "VERDICTS", "canonical_json", "sign_receipt", "verify_receipt",
           "public_key_b64", "public_key_from_b64", "generate_signing_key", "load_signing_key",
           "load_or_generate_signing_key", "key_fingerprint"]
