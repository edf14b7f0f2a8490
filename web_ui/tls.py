"""The web UI's HTTPS certificate: the configured one, or the box's own, made once at first use."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from device.config import Config
from device.errors import ConfigError
from device.files import atomic_output

log = logging.getLogger(__name__)

CERT_NAME = "web_tls_cert.pem"
KEY_NAME = "web_tls_key.pem"
VALID_DAYS = 3650  # the box is not on the internet; its operators trust this one certificate


def certificate_files(config: Config) -> tuple[Path, Path]:
    """(certificate, key) to serve HTTPS with: the configured pair, which must exist, or the
    box's own self-signed pair, made now when missing."""
    settings = config.settings.web
    if settings.tls_cert is not None and settings.tls_key is not None:
        for path in (settings.tls_cert, settings.tls_key):
            if not path.is_file():
                raise ConfigError(f"web.tls: {path} does not exist",
                                  message_vi=f"Không tìm thấy tệp chứng thư HTTPS {path}.")
        return settings.tls_cert, settings.tls_key
    cert, key = config.paths.secrets / CERT_NAME, config.paths.secrets / KEY_NAME
    if not (cert.is_file() and key.is_file()):
        make_self_signed(cert, key, names=_names(settings.tls_names))
    return cert, key


def _names(extra: list[str]) -> list[str]:
    host = socket.gethostname()
    return list(dict.fromkeys([host, f"{host}.local", "localhost", "127.0.0.1", *extra]))


def make_self_signed(cert_path: Path, key_path: Path, *, names: list[str]) -> None:
    """Write a new P-256 key (0600) and a self-signed certificate for `names` (host names or
    IP addresses), both durably."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64]),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "SoHoa Box")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([_general_name(name) for name in names]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    with atomic_output(key_path, mode=0o600) as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    with atomic_output(cert_path, mode=0o644) as handle:
        handle.write(certificate.public_bytes(serialization.Encoding.PEM))
    log.info("made the box's own HTTPS certificate for %s (SHA-256 %s)", ", ".join(names),
             fingerprint(cert_path))


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def fingerprint(cert_path: Path) -> str:
    """The certificate's SHA-256 fingerprint, as browsers show it (AA:BB:...), for operators
    to compare before trusting it."""
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()
