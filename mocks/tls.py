"""The certificate an emulator serves HTTPS with: the one given, or a self-signed one made at start."""

from __future__ import annotations

import ssl
from pathlib import Path

from mocks.bigip.certificates import self_signed, server_context


def serving_tls(cert: Path | None, key: Path | None, host: str) -> tuple[bytes, ssl.SSLContext]:
    """The certificate PEM a client may trust and the server context that presents it."""
    if cert is not None and key is not None:
        certificate_pem, key_pem = cert.read_bytes(), key.read_bytes()
    else:
        certificate_pem, key_pem = self_signed(host)
    return certificate_pem, server_context(certificate_pem, key_pem)
