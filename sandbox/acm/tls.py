"""The sandbox's certificate authority: what ACM and the public CAs are to AWS.

An HTTPS listener names an ACM certificate; on AWS the load balancer then serves a certificate for the names the
certificate was requested or imported for, signed by a CA every client trusts. Here the load balancer (HAProxy)
serves a certificate for the same names, signed by the sandbox's own CA, and the sandbox's clients (the hook
Lambdas, the tests, the demo) trust that CA through a bundle: the public CAs (certifi) plus the sandbox's.
Nothing covers the load balancer's own DNS name, as no ACM certificate covers *.elb.amazonaws.com.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 30


def _folder(state: Path) -> Path:
    folder = Path(state) / "tls"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def ca(state: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The sandbox's CA (made once per sandbox home)."""
    folder = _folder(state)
    cert_path, key_path = folder / "ca.pem", folder / "ca-key.pem"
    if cert_path.exists() and key_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError(f"{key_path} is not the sandbox CA's EC key: remove {folder} to make a new CA")
        return (
            x509.load_pem_x509_certificate(cert_path.read_bytes()),
            key,
        )
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sandbox CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS * 12))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(_key_pem(key))
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def bundle(state: Path) -> Path:
    """The CA bundle the sandbox's clients use (SSL_CERT_FILE, httpx verify=...): public CAs + the sandbox's."""
    cert, _key = ca(state)
    path = _folder(state) / "bundle.pem"
    content = Path(certifi.where()).read_bytes() + b"\n" + cert.public_bytes(serialization.Encoding.PEM)
    if not path.exists() or path.read_bytes() != content:
        path.write_bytes(content)
    return path


def listener_pem(state: Path, names: list[str]) -> Path:
    """Certificate (for `names`), chain and key in one PEM file, as HAProxy's `crt` takes it; made once."""
    names = sorted(set(names))
    folder = _folder(state)
    path = folder / f"listener-{hashlib.sha256(','.join(names).encode()).hexdigest()[:16]}.pem"
    if path.exists():
        return path
    ca_cert, ca_key = ca(state)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM) + _key_pem(key)
    )
    tmp.chmod(0o600)
    tmp.rename(path)
    return path
