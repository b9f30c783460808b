"""A rotated CA bundle or client certificate reaches the next TLS connection without a restart.

Files are published the way the kubelet updates a mounted Secret (``tests/secret_volumes.py``).
Handshakes are real (``asyncio`` TLS server on loopback) so the test sees which client
certificate the server actually received and which CA the client actually trusted.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from adcbridge.adc.client import AdcClient, Credentials
from adcbridge.adc.reference import REFERENCE_WIRE
from adcbridge.adc.tls import TlsFiles
from adcbridge.config import AdcSettings
from adcbridge.errors import AdcUnavailable
from mocks.adc import AuthPolicy, MockADC, MockConfig
from tests.conftest import PASSWORD, USERNAME
from tests.secret_volumes import publish


def client_files(ca: trustme.CA, identity: str) -> dict[str, bytes]:
    issued = ca.issue_cert(identity)
    return {"tls.crt": issued.cert_chain_pems[0].bytes(), "tls.key": issued.private_key_pem.bytes()}


@pytest.fixture
async def mutual_tls_server() -> AsyncIterator[tuple[int, trustme.CA, trustme.CA, list[str]]]:
    """A server that asks for a client certificate and records the name in each one it gets."""
    server_ca, client_ca = trustme.CA(), trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ca.issue_cert("localhost").configure_cert(context)
    client_ca.configure_trust(context)
    context.verify_mode = ssl.CERT_REQUIRED
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peercert")
        seen.append(dict(peer["subjectAltName"])["DNS"])
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    yield port, server_ca, client_ca, seen
    server.close()
    await server.wait_closed()


def mounted_tls_files(tmp_path: Path, port: int, server_ca: trustme.CA, client_ca: trustme.CA) -> TlsFiles:
    """The CA bundle and a first client certificate as mounted Secrets, loaded."""
    publish(tmp_path / "ca", {"ca.crt": server_ca.cert_pem.bytes()})
    publish(tmp_path / "client", client_files(client_ca, "bridge-one.example"))
    settings = AdcSettings(
        url=f"https://localhost:{port}",
        ca_file=tmp_path / "ca" / "ca.crt",
        client_cert=tmp_path / "client" / "tls.crt",
        client_key=tmp_path / "client" / "tls.key",
    )
    return TlsFiles(settings)


async def handshake(port: int, context: ssl.SSLContext | bool) -> None:
    assert isinstance(context, ssl.SSLContext)
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="localhost")
    await reader.read()  # the server closes after recording the certificate
    writer.close()
    await writer.wait_closed()


async def test_a_rotated_client_certificate_is_sent_on_the_next_connection(
    mutual_tls_server: tuple[int, trustme.CA, trustme.CA, list[str]], tmp_path: Path
) -> None:
    port, server_ca, client_ca, seen = mutual_tls_server
    files = mounted_tls_files(tmp_path, port, server_ca, client_ca)
    await handshake(port, files.context)
    assert files.refresh() is False  # nothing changed: nothing reloaded

    publish(tmp_path / "client", client_files(client_ca, "bridge-two.example"))
    assert files.refresh() is True
    await handshake(port, files.context)
    assert seen == ["bridge-one.example", "bridge-two.example"]


async def test_a_broken_file_is_reported_once_and_the_previous_certificate_kept(
    mutual_tls_server: tuple[int, trustme.CA, trustme.CA, list[str]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port, server_ca, client_ca, seen = mutual_tls_server
    files = mounted_tls_files(tmp_path, port, server_ca, client_ca)
    publish(tmp_path / "client", {"tls.crt": b"not a certificate", "tls.key": b"nor a key"})
    with caplog.at_level(logging.WARNING, logger="adcbridge.adc.tls"):
        assert files.refresh() is False
        assert files.refresh() is False
    assert len([r for r in caplog.records if "cannot be loaded" in r.getMessage()]) == 1
    await handshake(port, files.context)
    assert seen == ["bridge-one.example"]


async def test_the_client_trusts_a_rotated_ca_bundle_without_a_restart(tmp_path: Path) -> None:
    old_ca, new_ca = trustme.CA(), trustme.CA()
    served = new_ca.issue_cert("localhost")
    served.cert_chain_pems[0].write_to_path(str(tmp_path / "server.crt"))
    served.private_key_pem.write_to_path(str(tmp_path / "server.key"))
    publish(tmp_path / "ca", {"ca.crt": old_ca.cert_pem.bytes()})
    config = MockConfig(
        policy=AuthPolicy(username=USERNAME, password=PASSWORD),
        tls_cert=tmp_path / "server.crt",
        tls_key=tmp_path / "server.key",
        dns_port=None,
    )
    async with MockADC(config) as adc:
        port = adc.url.rpartition(":")[2].rstrip("/")
        settings = AdcSettings(
            url=f"https://localhost:{port}", ca_file=tmp_path / "ca" / "ca.crt", operation_deadline=0.3
        )
        async with AdcClient(settings, lambda: Credentials(USERNAME, PASSWORD), wire=REFERENCE_WIRE) as client:
            with pytest.raises(AdcUnavailable):
                await client.get("system/info")  # the ADC's certificate is signed by a CA we do not trust yet
            publish(tmp_path / "ca", {"ca.crt": new_ca.cert_pem.bytes()})
            assert await client.get("system/info")  # the same client, the next connection
