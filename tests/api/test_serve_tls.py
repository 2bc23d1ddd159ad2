"""`ledgercrm serve` over HTTPS with a self-signed certificate made in the test."""

import datetime
import ipaddress
import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.api.test_cli import admin_token, free_port, ledgercrm, wait_for_answer


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (mode 0600)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_file, key_file = folder / "tls.crt", folder / "tls.key"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return certificate_file, key_file


@pytest.mark.requirement("ENCRYPT-AT-REST")
def test_serve_speaks_https_with_the_configured_certificate(
    tmp_path: Path, database_url: str
) -> None:
    data_dir, port = tmp_path / "var", free_port()
    url = "" if database_url.startswith("sqlite") else database_url
    certificate, key = self_signed_certificate(tmp_path)
    token = admin_token(ledgercrm(data_dir, "init", LEDGERCRM_DATABASE_URL=url).stdout)
    environment = {
        **os.environ,
        "LEDGERCRM_DATA_DIR": str(data_dir),
        "LEDGERCRM_PORT": str(port),
        "LEDGERCRM_TLS_CERTIFICATE_FILE": str(certificate),
        "LEDGERCRM_TLS_KEY_FILE": str(key),
        "LEDGERCRM_ACCESS_LOG_JSON": "true",
    }
    environment["LEDGERCRM_DATABASE_URL"] = url
    server = subprocess.Popen(
        [sys.executable, "-m", "api", "serve"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"https://127.0.0.1:{port}"
        trusted = ssl.create_default_context(cafile=str(certificate))
        verified = wait_for_answer(f"{base}/v1/purposes", token, verify=trusted)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{base}/v1/purposes", timeout=5)  # not a trusted certificate
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/v1/purposes", timeout=5)
    finally:
        server.terminate()
        _, log = server.communicate(timeout=30)

    assert verified.status_code == 200
    access_lines = [
        json.loads(line) for line in log.decode().splitlines() if line.startswith("{")
    ]
    assert {"route": "/v1/purposes", "status": 200}.items() <= access_lines[0].items()
    assert token.encode() not in log


def test_serve_refuses_half_a_tls_configuration(tmp_path: Path) -> None:
    certificate, _ = self_signed_certificate(tmp_path)
    ledgercrm(tmp_path / "var", "init")

    result = ledgercrm(
        tmp_path / "var", "serve", LEDGERCRM_TLS_CERTIFICATE_FILE=str(certificate)
    )

    assert result.returncode == 2
    assert "LEDGERCRM_TLS_KEY_FILE" in result.stderr
